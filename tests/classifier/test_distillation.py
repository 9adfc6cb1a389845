"""A student distilled from a tiny 4-layer teacher: its layers, its training, its serving."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from classifier.distillation import distill, frozen_prefix, student
from classifier.encoder import Encoder
from classifier.errors import ClassifierError
from classifier.inference import Classifier
from classifier.pipeline import train_model
from classifier.training import TrainConfig, pooled_states
from tests.classifier.conftest import corpus

# ORT's fused kernels sum in another order than torch's (as for the teacher's export).
MAX_ABS_DIFF = 1e-4
CONFIG = TrainConfig(
    max_tokens=64, head_only=True, epochs=30, patience=30, batch_size=16, head_lr=1e-2,
    student_layers=(0, 3), distill_epochs=8, distill_lr=2e-3,
)  # fmt: skip


def texts_and_labels() -> tuple[list[str], list[str]]:
    rows = corpus()
    return [f"{title} {text}" for title, text, _ in rows], [label for _, _, label in rows]


def centred_cosine(a: np.ndarray, b: np.ndarray, centre: np.ndarray) -> float:
    a, b = a - centre, b - centre
    return float(np.mean(np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)))


def test_a_student_keeps_the_named_teacher_layers(tiny_teacher: Path) -> None:
    teacher = Encoder.load(tiny_teacher)
    small = student(teacher, [0, 3])
    assert small.depth == 2 and small.bert.config.num_hidden_layers == 2
    for mine, theirs in ((0, 0), (1, 3)):
        ours = small.bert.encoder.layer[mine].state_dict()
        for name, value in teacher.bert.encoder.layer[theirs].state_dict().items():
            assert torch.equal(ours[name], value), name
    assert frozen_prefix([0, 1, 2, 3, 7, 11]) == 4
    assert frozen_prefix([1, 3, 5]) == 0
    assert frozen_prefix([0, 1]) == 1  # the top layer is always trained
    with pytest.raises(ClassifierError):
        student(teacher, [0, 4])


def test_distillation_brings_the_student_towards_the_teacher(tiny_teacher: Path) -> None:
    teacher = Encoder.load(tiny_teacher)
    texts, _ = texts_and_labels()
    ids = teacher.token_ids(texts, 64)
    targets = pooled_states(teacher, ids, teacher.depth, None)
    train, val = list(range(0, len(ids), 5)), [i for i in range(len(ids)) if i % 5]
    untrained = pooled_states(student(teacher, [0, 3]), ids, 2, None)
    centre = targets[train].mean(0)
    before = centred_cosine(untrained[val], targets[val], centre)
    result = distill(teacher, ids, targets, train, val, CONFIG, progress=lambda _: None)
    after = centred_cosine(result.states[val], targets[val], centre)
    assert result.record["val_cosine"] == pytest.approx(after, abs=1e-5)
    # Texts it never trained on (four in five here) come much closer to the teacher's vector.
    assert after > before + 0.1, (before, after)
    assert result.record["frozen_layers"] == 1 and result.encoder.depth == 2
    # The states it hands over are what the student itself gives.
    again = pooled_states(result.encoder, ids, 2, None)
    assert np.abs(again - result.states).max() < 1e-5


@pytest.fixture(scope="module")
def student_model(
    tiny_teacher: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, np.ndarray]:
    texts, labels = texts_and_labels()
    out = tmp_path_factory.mktemp("student") / "v1"
    report = train_model(texts, labels, base=tiny_teacher, out=out, config=CONFIG,
                         fingerprint="tests", progress=lambda _: None)  # fmt: skip
    return out, report.similarity


def test_the_pipeline_serves_the_student_and_its_vector(
    student_model: tuple[Path, np.ndarray],
) -> None:
    folder, similarity = student_model
    card = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert card["distillation"]["teacher_layers"] == [0, 3]
    assert card["similarity"]["layer"] == card["onnx"]["similarity_layer"] == 2
    assert card["onnx"]["fused"]["Attention"] == 2
    texts, _ = texts_and_labels()
    torch_path, ort_path = Classifier(folder, runtime="torch"), Classifier(folder)
    assert torch_path.encoder is not None and torch_path.encoder.depth == 2
    p_torch, v_torch = torch_path.analyse(texts)
    p_ort, v_ort = ort_path.analyse(texts)
    assert np.abs(p_torch - p_ort).max() <= MAX_ABS_DIFF
    assert (np.sum(v_torch * v_ort, axis=1) >= 0.9999).all()
    # The corpus vectors the build fits the repeat scorer on are the served embeddings.
    assert (np.sum(similarity * v_ort, axis=1) >= 0.9999).all()
    int8 = Classifier(folder, quantized=True).probabilities(texts)
    assert (int8.argmax(1) == p_ort.argmax(1)).mean() >= 0.9
