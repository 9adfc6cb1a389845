"""Model versions: list, guarded activation, and a serving process picking up the new one."""

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from classifier.bootstrap import STYLES, renderings
from classifier.registry import ActiveModel, active_name
from classifier.settings import get_classifier_settings
from tests.classifier.conftest import corpus, write_csv


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("QISU_DATA_DIR", str(tmp_path))
    get_classifier_settings.cache_clear()
    yield tmp_path / "models"
    get_classifier_settings.cache_clear()


def invoke(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def train(data: Path, base: Path, out: Path) -> None:
    code, output = invoke(
        "classifier", "train", "--data", data, "--text-col", "内容", "--label-col", "单位",
        "--out", out, "--base-model", base, "--epochs", "2",
    )  # fmt: skip
    assert code == 0, output


def test_activation_is_guarded_and_picked_up_without_a_restart(
    models_dir: Path, tiny_base: Path, labelled_csv: Path, tmp_path: Path
) -> None:
    train(labelled_csv, tiny_base, models_dir / "good")
    rows = corpus()
    shuffled = [row[2] for row in rows]
    random.Random(3).shuffle(shuffled)  # labels that mean nothing: a worse model
    relabelled = [(t, x, y) for (t, x, _), y in zip(rows, shuffled, strict=True)]
    noise = write_csv(tmp_path / "noise.csv", relabelled)
    train(noise, tiny_base, models_dir / "worse")

    assert invoke("model", "list")[1].count("labels") == 2 and active_name(models_dir) is None
    serving = ActiveModel(models_dir)
    assert serving.get() is None

    assert invoke("model", "activate", "good") == (0, "good is active\n")
    first = serving.get()
    assert first is not None and first.version == "good"
    assert serving.get() is first  # loaded once

    code, output = invoke("model", "activate", "worse")
    assert code == 2 and "refused" in output and "--force" in output
    assert active_name(models_dir) == "good"
    code, output = invoke("model", "activate", "worse", "--force")
    assert code == 0 and "worse is active" in output
    reloaded = serving.get()
    assert reloaded is not None and reloaded.version == "worse"
    assert "* worse" in invoke("model", "list")[1]


def test_unknown_version_is_refused(models_dir: Path) -> None:
    models_dir.mkdir(parents=True)
    code, output = invoke("model", "activate", "nope")
    assert code == 2 and "not a qisu model folder" in output
    assert "no models yet" in invoke("model", "list")[1]


@pytest.mark.slow
def test_build_default_trains_evaluates_and_activates_once(
    models_dir: Path, tiny_base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QISU_BASE_MODEL", str(tiny_base))
    get_classifier_settings.cache_clear()
    code, output = invoke("model", "build-default", "--if-missing")
    assert code == 0, output
    appeals = len(renderings(held_out=False, styles=STYLES))
    assert f"{appeals} bootstrap appeals" in output and "held-out matters (330 appeals)" in output
    assert "repeat scorer: " in output
    name = active_name(models_dir)
    assert name and name.startswith("jiading-")
    card = json.loads((models_dir / name / "model.json").read_text(encoding="utf-8"))
    assert len(card["labels"]) == 33 and "territorial" in card["labels"]
    assert card["similarity"]["layer"] == 2  # the tiny BERT's own last layer
    assert (models_dir / name / "repeats.json").is_file()
    assert set(card["evaluation"]["accuracy"]) == {"ensemble", "encoder", "ngram"}
    # The n-gram model alone already separates the written matters well above chance (1/33).
    assert card["evaluation"]["accuracy"]["ensemble"] > 0.5
    assert invoke("model", "build-default", "--if-missing") == (0, f"model {name} is active\n")
