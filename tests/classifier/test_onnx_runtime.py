"""The ONNX Runtime serving path against torch's, on a model trained through the pipeline."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli import cli
from classifier.errors import ClassifierError
from classifier.inference import Classifier, length_chunks
from classifier.pipeline import train_model
from classifier.settings import get_classifier_settings
from classifier.training import TrainConfig
from tests.classifier.conftest import corpus

# ORT's fused kernels sum in another order than torch's; probabilities agree to this.
MAX_ABS_DIFF = 1e-4


@pytest.fixture(scope="module")
def model(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = corpus()
    out = tmp_path_factory.mktemp("ort") / "v1"
    train_model(
        [f"{title} {text}" for title, text, _ in rows],
        [label for _, _, label in rows],
        base=tiny_base,
        out=out,
        config=TrainConfig(epochs=3, frozen_layers=1, max_tokens=64),
        fingerprint="tests",
        progress=lambda _: None,
    )
    return out


def labelled() -> tuple[list[str], np.ndarray, list[str]]:
    rows = corpus()
    labels = sorted({label for _, _, label in rows})
    truth = np.array([labels.index(label) for _, _, label in rows])
    return [text for _, text, _ in rows], truth, labels


def test_the_build_exports_fused_fp32_and_int8_graphs(model: Path) -> None:
    card = json.loads((model / "model.json").read_text(encoding="utf-8"))
    exported = card["onnx"]
    assert (model / exported["fp32"]).is_file() and (model / exported["int8"]).is_file()
    # ORT's transformer fusions took: one Attention op per layer, LayerNorm and GELU fused.
    assert exported["fused"]["Attention"] == 2
    assert exported["fused"]["SkipLayerNormalization"] >= 2 and exported["fused"]["BiasGelu"] == 2
    assert exported["similarity_layer"] == card["similarity"]["layer"] == 1
    int8 = (model / exported["int8"]).stat().st_size
    assert int8 < (model / exported["fp32"]).stat().st_size


def test_ort_probabilities_and_embeddings_match_torch(model: Path) -> None:
    texts, _, _ = labelled()
    texts += ["拖欠工资" * 50, "😀", ""]  # a truncated text, unknown characters, an empty one
    torch_path, ort_path = Classifier(model, runtime="torch"), Classifier(model)
    assert (torch_path.name, ort_path.name) == ("torch-fp32", "ort-fp32")
    p_torch, v_torch = torch_path.analyse(texts)
    p_ort, v_ort = ort_path.analyse(texts)
    assert np.abs(p_torch - p_ort).max() <= MAX_ABS_DIFF
    assert (np.sum(v_torch * v_ort, axis=1) >= 0.9999).all()
    # Batched or one by one, ORT gives the same rows (padding is masked out).
    single = np.concatenate([ort_path.probabilities([t]) for t in texts[:10]])
    assert np.abs(single - p_ort[:10]).max() <= MAX_ABS_DIFF


def test_int8_accuracy_holds_against_fp32_on_a_labelled_set(model: Path) -> None:
    texts, truth, labels = labelled()
    fp32 = Classifier(model)
    int8 = Classifier(model, quantized=True)
    assert (fp32.labels, int8.name) == (labels, "ort-int8")
    full = (fp32.probabilities(texts).argmax(1) == truth).mean()
    fast = (int8.probabilities(texts).argmax(1) == truth).mean()
    assert full >= 0.9 and fast >= full - 0.01


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_an_int8_answer_does_not_depend_on_the_texts_beside_it(model: Path, runtime: str) -> None:
    texts, _, _ = labelled()
    texts += ["拖欠工资" * 50, "短"]  # a long one and a short one: very different activations
    int8 = Classifier(model, quantized=True, runtime=runtime)
    together = int8.probabilities(texts)
    alone = np.concatenate([int8.probabilities([t]) for t in texts])
    assert np.array_equal(together, alone)


def test_length_chunks_keep_similar_lengths_together() -> None:
    lengths = [10, 80, 11, 12, 40, 13, 45, 90]
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    chunks = length_chunks(order, lengths, batch=3)
    assert chunks == [[0, 2, 3], [5], [4, 6], [1, 7]]
    assert sorted(i for chunk in chunks for i in chunk) == list(range(len(lengths)))
    assert length_chunks(order, lengths, batch=1) == [[i] for i in order]


def test_a_folder_built_before_the_export_is_served_by_torch(model: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(model, old)
    shutil.rmtree(old / "onnx")
    card = json.loads((old / "model.json").read_text(encoding="utf-8"))
    del card["onnx"]
    (old / "model.json").write_text(json.dumps(card), encoding="utf-8")
    texts, _, _ = labelled()
    served = Classifier(old)
    assert served.runtime == "torch"
    expected = Classifier(model, runtime="torch").probabilities(texts)
    assert np.allclose(served.probabilities(texts), expected, atol=1e-6)
    with pytest.raises(ClassifierError, match="no ONNX export"):
        Classifier(old, runtime="onnx")


def test_an_old_folder_gains_its_export_from_the_cli(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "models" / "old"
    shutil.copytree(model, old)
    shutil.rmtree(old / "onnx")
    card = json.loads((old / "model.json").read_text(encoding="utf-8"))
    del card["onnx"]
    (old / "model.json").write_text(json.dumps(card), encoding="utf-8")
    monkeypatch.setenv("QISU_DATA_DIR", str(tmp_path))
    get_classifier_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["model", "export-onnx", "old"])
        again = CliRunner().invoke(cli, ["model", "export-onnx", "old"])
    finally:
        get_classifier_settings.cache_clear()
    assert result.exit_code == 0 and "served by ONNX Runtime" in result.output, result.output
    assert again.exit_code == 2 and "already has onnx/" in again.output
    texts, _, _ = labelled()
    served = Classifier(old)
    assert served.runtime == "onnx" and served.labels == card["labels"]
    expected = Classifier(model, runtime="torch").probabilities(texts)
    assert np.abs(served.probabilities(texts) - expected).max() <= MAX_ABS_DIFF


def test_a_damaged_export_is_refused_with_a_reason(model: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(model, broken)
    (broken / "onnx" / "encoder.onnx").write_bytes(b"not a graph")
    with pytest.raises(ClassifierError, match="ONNX Runtime cannot load it"):
        Classifier(broken)
