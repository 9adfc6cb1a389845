"""`qisu model retrain-repeats`: a model's pair scorer refitted in place, the classifier kept."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from classifier.cli import REPEAT_PAIRS
from classifier.repeat_scorer import FEATURES, FORMAT
from classifier.settings import get_classifier_settings
from tests.routing.conftest import VERSION

DEV = Path(__file__).parents[2] / "bench" / "data" / "routing-eval-v2" / "dev.yaml"


@pytest.fixture
def registry(models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the trained test registry under a data folder of its own."""
    shutil.copytree(models_dir, tmp_path / "models")
    monkeypatch.setenv("QISU_DATA_DIR", str(tmp_path))
    get_classifier_settings.cache_clear()
    yield tmp_path / "models"
    get_classifier_settings.cache_clear()


def test_the_scorer_is_refitted_on_a_labelled_set(registry: Path) -> None:
    folder = registry / VERSION
    weights = (folder / "head.safetensors").read_bytes()
    (folder / "repeats.json").write_text('{"format": "qisu-repeat-scorer/1"}', encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["model", "retrain-repeats", VERSION, "--repeat-pairs", str(DEV)]
    )
    assert result.exit_code == 0, result.output
    assert "pairs of routing-eval-v2/dev.yaml" in result.output and "rewritten" in result.output
    scorer = json.loads((folder / "repeats.json").read_text(encoding="utf-8"))
    assert scorer["format"] == FORMAT and scorer["features"] == list(FEATURES)
    assert scorer["trained_on"]["pairs"].endswith("pairs of routing-eval-v2/dev.yaml")
    assert (folder / "head.safetensors").read_bytes() == weights  # the classifier is kept


def test_by_default_every_labelled_set_fits_it(registry: Path) -> None:
    result = CliRunner().invoke(cli, ["model", "retrain-repeats", VERSION])
    assert result.exit_code == 0, result.output
    scorer = json.loads((registry / VERSION / "repeats.json").read_text(encoding="utf-8"))
    sets = " and ".join("/".join(path.parts[-2:]) for path in REPEAT_PAIRS)
    assert scorer["trained_on"]["pairs"].endswith(f"pairs of {sets}")


def test_without_a_labelled_set_the_corpus_pairs_fit_it(registry: Path, tmp_path: Path) -> None:
    missing = tmp_path / "none.yaml"
    result = CliRunner().invoke(
        cli, ["model", "retrain-repeats", VERSION, "--repeat-pairs", str(missing)]
    )
    assert result.exit_code == 0, result.output
    assert "corpus pairs" in result.output


def test_an_unknown_version_is_refused(registry: Path) -> None:
    result = CliRunner().invoke(cli, ["model", "retrain-repeats", "nope"])
    assert result.exit_code == 2 and "no such model" in result.output


def test_make_run_refits_an_active_models_older_scorer_and_nothing_else(registry: Path) -> None:
    folder = registry / VERSION
    weights = (folder / "head.safetensors").read_bytes()
    current = CliRunner().invoke(cli, ["model", "build-default", "--if-missing"])
    assert current.exit_code == 0 and "refitting" not in current.output, current.output
    (folder / "repeats.json").write_text('{"format": "qisu-repeat-scorer/1"}', encoding="utf-8")
    older = CliRunner().invoke(
        cli, ["model", "build-default", "--if-missing", "--repeat-pairs", str(DEV)]
    )
    assert older.exit_code == 0, older.output
    assert "refitting its repeat scorer" in older.output and "rewritten" in older.output
    scorer = json.loads((folder / "repeats.json").read_text(encoding="utf-8"))
    assert scorer["format"] == FORMAT
    assert (folder / "head.safetensors").read_bytes() == weights  # the classifier is kept
    assert sorted(p.name for p in registry.iterdir() if p.is_dir()) == [VERSION]  # none built
