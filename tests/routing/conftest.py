"""A real trained model for routing: a tiny BERT and the n-gram model on the Jiading corpus."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from classifier import bootstrap, default_model
from classifier.pipeline import train_model
from classifier.training import TrainConfig
from core.config import Settings
from tests.classifier.conftest import build_tiny_bert

VERSION = "jiading-test"


def train_test_models(models: Path, base_dir: Path) -> Path:
    """A model registry (in MODELS) whose active model and repeat scorer were trained on the
    first-written bootstrap matters (follow-ups included; the whole corpus would be slow)."""
    rows = bootstrap.renderings(held_out=False, styles=bootstrap.STYLES, more=False)
    texts, labels = [r.text for r in rows], [r.label for r in rows]
    spare = "".join(chr(c) for c in range(0x4E00, 0x9FA6))  # every common Chinese character
    base = build_tiny_bert(base_dir, set(spare))
    config = TrainConfig(max_tokens=64, frozen_layers=1, epochs=2, batch_size=32, seed=3)
    report = train_model(
        texts,
        labels,
        base=base,
        out=models / VERSION,
        config=config,
        fingerprint="tests",
        progress=lambda _: None,
    )
    default_model.fit_repeat_scorer(
        models / VERSION,
        rows,
        report.similarity,
        confirmed=None,
        threads=2,
        progress=lambda _: None,
    )
    (models / "ACTIVE").write_text(VERSION + "\n", encoding="utf-8")
    return models


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained test model registry, once per session."""
    return train_test_models(
        tmp_path_factory.mktemp("models"), tmp_path_factory.mktemp("tiny-jiading")
    )


@pytest.fixture
def routed_settings(settings: Settings, models_dir: Path) -> Settings:
    """The test settings with the trained model active."""
    (settings.data_dir / "models").symlink_to(models_dir, target_is_directory=True)
    return settings


@pytest.fixture
def routed(routed_settings: Settings) -> Iterator[TestClient]:
    """An app client whose intake routes with the trained model."""
    with TestClient(create_app(routed_settings), raise_server_exceptions=False) as client:
        yield client


def appeal(n: int, text: str, **overrides: Any) -> dict[str, Any]:
    """An intake body with this text (see tests.conftest.ticket_payload)."""
    from tests.conftest import ticket_payload

    return ticket_payload(n, text=text, title=None, **overrides)
