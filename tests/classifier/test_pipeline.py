"""Train, save, load, predict, embed and evaluate, through the CLI, on a tiny random BERT."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli import cli
from classifier.inference import Classifier
from tests.classifier.conftest import TOPICS, corpus, write_csv

COLUMNS = ["--text-col", "内容", "--title-col", "标题"]


def run(*args: str | Path) -> str:
    result = CliRunner().invoke(cli, ["classifier", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


def train(data: Path, base: Path, out: Path, *extra: str) -> str:
    return run(
        "train", "--data", data, *COLUMNS, "--label-col", "单位", "--out", out,
        "--base-model", base, "--epochs", "3", *extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def model(tiny_base: Path, labelled_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models") / "v1"
    output = train(labelled_csv, tiny_base, out)
    assert "epoch 1: validation accuracy" in output and "saved" in output
    return out


def test_the_folder_describes_itself(model: Path, labelled_csv: Path) -> None:
    assert {p.name for p in model.iterdir()} == {
        "model.json",
        "encoder",
        "head.safetensors",
        "ngram.npz",
        "heldout.jsonl",
        "onnx",
    }
    card = json.loads((model / "model.json").read_text(encoding="utf-8"))
    assert card["labels"] == sorted(TOPICS)
    assert card["data"]["examples"] == 100 and card["data"]["validation"] == 10
    assert len(card["data"]["fingerprint"]) == 64
    assert card["train_config"]["seed"] == 13 and 1 <= len(card["history"]) <= 3
    assert 0 <= card["calibration"]["encoder_weight"] <= 1
    assert card["calibration"]["encoder_temperature"] > 0
    assert not model.with_name("v1.partial").exists()


def test_same_data_and_seed_give_the_same_model(
    model: Path, tiny_base: Path, labelled_csv: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    train(labelled_csv, tiny_base, again)
    first, second = Classifier(model), Classifier(again)
    texts = [row[1] for row in corpus()[::7]]
    assert np.allclose(first.probabilities(texts), second.probabilities(texts), atol=1e-5)
    assert (model / "head.safetensors").read_bytes() == (again / "head.safetensors").read_bytes()


def test_predictions_rank_labels_with_probabilities(model: Path) -> None:
    classifier = Classifier(model)
    texts = ["公司拖欠工资三个月，工人要求支付", "厂区突然停电，生产线停了", "营业执照办理"]
    ranked = classifier.predict(texts, k=5)
    assert [r[0].label for r in ranked] == ["hrss", "power", "market_regulation"]
    for row in ranked:
        probabilities = [s.probability for s in row]
        assert len(row) == 5 and probabilities == sorted(probabilities, reverse=True)
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-4)
    assert classifier.predict([]) == []


def test_odd_texts_get_a_defined_result(model: Path, tmp_path: Path) -> None:
    odd = ["拖欠工资" * 12_500, "😀😡🙏" * 10, "", "   "]
    ranked = Classifier(model).predict(odd)
    assert [len(row) for row in ranked] == [5, 5, 5, 5]
    assert all(0 <= s.probability <= 1 for row in ranked for s in row)
    data = write_csv(tmp_path / "odd.csv", [("", text, "") for text in odd])
    output = run(
        "predict", "--model", model, "--data", data, *COLUMNS, "--out", tmp_path / "o.jsonl"
    )
    assert "1 texts reached the 96-token limit" in output


def test_embeddings_are_unit_vectors_close_for_similar_texts(model: Path) -> None:
    vectors = Classifier(model).embed(["拖欠工资的问题", "拖欠工资的问题。", "停水了"])
    assert vectors.shape == (3, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_quantised_path_agrees_with_fp32(model: Path, runtime: str) -> None:
    texts = [row[1] for row in corpus()]
    full = Classifier(model, runtime=runtime).probabilities(texts).argmax(1)
    fast = Classifier(model, quantized=True, runtime=runtime).probabilities(texts).argmax(1)
    assert (full == fast).mean() >= 0.95


def test_predict_writes_one_line_per_row_in_order(model: Path, tmp_path: Path) -> None:
    rows = [("", "停电了，请供电公司处理", ""), ("营业执照", "变更很慢", ""), ("", "拖欠工资", "")]
    data = write_csv(tmp_path / "new.csv", rows, encoding="gb18030")
    out = tmp_path / "predicted.jsonl"
    run("predict", "--model", model, "--data", data, *COLUMNS, "--out", out)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["label"] for line in lines] == ["power", "market_regulation", "hrss"]
    assert all(len(line["top"]) == 5 and line["top"][0]["label"] == line["label"] for line in lines)


def test_evaluate_prints_and_writes_every_model_side_by_side(
    model: Path, labelled_csv: Path, tmp_path: Path
) -> None:
    report = tmp_path / "figures.json"
    output = run(
        "evaluate", "--model", model, "--data", labelled_csv, *COLUMNS,
        "--label-col", "单位", "--json", report,
    )  # fmt: skip
    for title in ("n-gram baseline", "fine-tuned encoder", "ensemble", "texts/s", "confused"):
        assert title in output
    figures = json.loads(report.read_text(encoding="utf-8"))
    assert figures["rows"] == 100
    for name in ("ngram", "encoder", "ensemble"):
        assert {"accuracy", "macro_f1", "top3_accuracy", "calibration_error"} <= set(figures[name])
        assert set(figures[name]["per_class"]) == set(TOPICS)
    assert figures["ensemble"]["accuracy"] >= 0.9


@pytest.mark.parametrize(
    ("content", "args", "says"),
    [
        ("", [], "empty"),
        ("标题,内容,单位\n甲,乙,丙\n", ["--text-col", "正文"], "no column '正文'"),
        ("标题,内容,单位\n" + "甲,乙,hrss\n" * 12, [], "fewer than two labels"),
    ],
)
def test_bad_training_data_is_refused_with_a_reason(
    tmp_path: Path, tiny_base: Path, content: str, args: list[str], says: str
) -> None:
    data = tmp_path / "bad.csv"
    data.write_text(content, encoding="utf-8")
    command = ["classifier", "train", "--data", str(data), "--text-col", "内容", "--label-col"]
    command += ["单位", "--out", str(tmp_path / "m"), "--base-model", str(tiny_base), *args]
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 2 and says in result.output, result.output


def test_a_folder_that_is_not_a_model_is_refused(tmp_path: Path, labelled_csv: Path) -> None:
    command = ["classifier", "predict", "--model", str(tmp_path), "--data", str(labelled_csv)]
    result = CliRunner().invoke(cli, [*command, "--text-col", "内容", "--out", "x.jsonl"])
    assert result.exit_code == 2 and "not a qisu model folder" in result.output


def test_training_into_a_used_folder_is_refused(
    model: Path, tiny_base: Path, labelled_csv: Path
) -> None:
    command = ["classifier", "train", "--data", str(labelled_csv), *COLUMNS, "--label-col", "单位"]
    command += ["--out", str(model), "--base-model", str(tiny_base)]
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 2 and "not empty" in result.output
