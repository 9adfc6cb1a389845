"""The real default model routes the labelled Jiading set through intake (slow: trains it)."""

from pathlib import Path

import pytest
import yaml

from bench.routing import CASES, run, score
from classifier.bootstrap import corpus
from classifier.data import fingerprint
from classifier.pipeline import train_model
from classifier.training import TrainConfig
from routing import model as routing_model


@pytest.mark.slow
def test_the_default_model_meets_the_routing_goals(real_base: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    texts, labels = corpus(held_out=False)
    train_model(
        texts,
        labels,
        base=real_base,
        out=models / "jiading-ci",
        config=TrainConfig(max_minutes=8.0),
        fingerprint=fingerprint(texts, labels),
        progress=lambda _: None,
    )
    (models / "ACTIVE").write_text("jiading-ci\n", encoding="utf-8")
    routing_model.use(models)
    try:
        data = yaml.safe_load(CASES.read_text(encoding="utf-8"))
        figures = score(run(data, database=tmp_path / "routing.db"))
    finally:
        routing_model.use(None)
    assert figures["cases"] >= 150
    assert figures["coverage"] >= 0.80, figures
    assert figures["lead_accuracy"] >= 0.90, figures
    assert figures["subdistrict_named"] >= 0.95, figures
    assert figures["repeat_recall"] >= 0.85, figures
    # bench/routing.py measures 0.92 on the shipped model; one more false repeat (0.857) is
    # allowed here, where a slower machine's time budget may stop training at another epoch.
    assert figures["repeat_precision"] >= 0.85, figures
