"""Train the whole classifier (fine-tuned encoder, n-gram model, calibrated ensemble) and save it.

A model folder describes itself:
  model.json          labels, settings, temperatures, ensemble weight, data fingerprint, metrics
  encoder/            the fine-tuned (or distilled) BERT and its tokenizer (a HuggingFace folder)
  head.safetensors    the linear head over mean-pooled tokens
  ngram.npz           the character n-gram TF-IDF linear model, as arrays (ngram.pkl before)
  heldout.jsonl       the validation rows it was calibrated on
  onnx/               the encoder and head exported for ONNX Runtime, fp32 and int8 (serving)
"""

import json
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.torch import save_file
from sklearn.model_selection import train_test_split

from classifier import onnx_export
from classifier.calibration import fit_temperature, fit_weight, log_softmax
from classifier.distillation import distill
from classifier.encoder import Encoder
from classifier.errors import ClassifierError
from classifier.inference import FORMAT, HELDOUT
from classifier.ngram import fit_ngram
from classifier.ngram_model import FILE as NGRAM_FILE
from classifier.training import TrainConfig, Trained, fine_tune, fit_head, pooled_states


@dataclass
class Report:
    """What training produced, for the progress line and the model card."""

    folder: Path
    labels: list[str]
    val_accuracy: dict[str, float]
    minutes: float
    similarity: np.ndarray  # each text's similarity embedding (unit length, centred), in order


def holdout(labels: list[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Stratified train and validation indices; every class keeps at least one training row."""
    rows = list(range(len(labels)))
    counts = np.bincount(labels)
    if fraction <= 0 or min(counts) < 2:
        raise ClassifierError("a validation split needs at least two examples of every label")
    size = max(round(len(rows) * fraction), len(counts))
    train, val = train_test_split(rows, test_size=size, stratify=labels, random_state=seed)
    return sorted(train), sorted(val)


def holdout_groups(
    labels: list[int], groups: list[int], fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Train and validation indices that keep each group (a matter's renderings) on one side,
    so calibration and the ensemble weight are fitted on matters training never saw."""
    rng = np.random.default_rng(seed)
    by_label: dict[int, list[int]] = {}
    for label, group in sorted(set(zip(labels, groups, strict=True))):
        by_label.setdefault(label, []).append(group)
    held: set[int] = set()
    for label_groups in by_label.values():
        if len(label_groups) < 2:
            raise ClassifierError("a validation split by matter needs two matters of every label")
        size = max(1, round(len(label_groups) * fraction))
        held |= set(rng.choice(label_groups, size=size, replace=False).tolist())
    train = [i for i, g in enumerate(groups) if g not in held]
    val = [i for i, g in enumerate(groups) if g in held]
    return train, val


def train_model(
    texts: list[str],
    labels: list[str],
    *,
    base: Path,
    out: Path,
    config: TrainConfig,
    fingerprint: str,
    validation: float = 0.1,
    progress: Callable[[str], None] = print,
    cache: Path | None = None,
    groups: list[int] | None = None,
) -> Report:
    """Fine-tune, fit the n-gram partner, calibrate both on the validation split, save."""
    if out.exists() and any(out.iterdir()):
        raise ClassifierError(f"{out}: the folder exists and is not empty")
    began = time.monotonic()
    random.seed(config.seed)
    np.random.seed(config.seed)
    names = sorted(set(labels))
    index = {name: i for i, name in enumerate(names)}
    y = [index[label] for label in labels]
    train, val = (
        holdout_groups(y, groups, validation, config.seed)
        if groups is not None
        else holdout(y, validation, config.seed)
    )
    progress(f"{len(names)} labels, {len(train)} training and {len(val)} validation texts")

    encoder = Encoder.load(base)
    ids = encoder.token_ids(texts, config.max_tokens)
    split = (
        [ids[i] for i in train],
        [y[i] for i in train],
        [ids[i] for i in val],
        [y[i] for i in val],
        len(names),
        config,
        progress,
    )
    distilled = None
    if config.student_layers:  # the head is trained over a distilled student's vector
        progress(f"encoding {len(texts)} texts with the teacher …")
        targets = pooled_states(encoder, ids, encoder.depth, cache)
        distilled = distill(encoder, ids, targets, train, val, config, progress)
        encoder = distilled.encoder
        trained = fit_head(encoder, *split, states=(distilled.states[train], distilled.states[val]))
    else:
        trained = fine_tune(encoder, *split, cache)
    progress("fitting the character n-gram model …")
    ngram = fit_ngram([texts[i] for i in train], [y[i] for i in train], seed=config.seed)
    val_y = np.array([y[i] for i in val])
    encoder_scores = trained.val_scores
    ngram_val = ngram.scores([texts[i] for i in val], len(names))
    t_encoder = fit_temperature(encoder_scores, val_y)
    t_ngram = fit_temperature(ngram_val, val_y)
    weight = fit_weight(
        log_softmax(encoder_scores, t_encoder), log_softmax(ngram_val, t_ngram), val_y
    )
    mixed = weight * log_softmax(encoder_scores, t_encoder) + (1 - weight) * log_softmax(
        ngram_val, t_ngram
    )
    accuracy = {
        "encoder": float((encoder_scores.argmax(1) == val_y).mean()),
        "ngram": float((ngram_val.argmax(1) == val_y).mean()),
        "ensemble": float((mixed.argmax(1) == val_y).mean()),
    }
    minutes = (time.monotonic() - began) / 60
    states = np.zeros((len(texts), trained.train_pooled.shape[1]), dtype=np.float32)
    states[train], states[val] = trained.train_pooled, trained.val_pooled
    # What all texts share: taken out, cosines spread and one threshold can separate repeats.
    centre = states.mean(0)
    similarity = states - centre
    similarity /= np.maximum(np.linalg.norm(similarity, axis=1, keepdims=True), 1e-12)
    card = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_model": str(base),
        "labels": names,
        "train_config": config.as_dict(),
        "data": {
            "fingerprint": fingerprint,
            "examples": len(texts),
            "train": len(train),
            "validation": len(val),
        },
        "calibration": {
            "encoder_temperature": t_encoder,
            "ngram_temperature": t_ngram,
            "encoder_weight": weight,
        },
        "similarity": {
            "layer": encoder.depth
            if config.head_only or distilled
            else min(config.frozen_layers, encoder.depth - 1),
            "centre": [round(float(x), 6) for x in centre],
        },
        "history": trained.history,
        **({"distillation": distilled.record} if distilled else {}),
        "validation_accuracy": accuracy,
        "training_minutes": round(minutes, 2),
    }
    heldout = [{"text": texts[i], "label": labels[i]} for i in val]
    _save(out, trained, ngram, card, heldout, progress)
    progress(
        f"saved {out}: validation accuracy encoder {accuracy['encoder']:.4f}, "
        f"n-gram {accuracy['ngram']:.4f}, ensemble {accuracy['ensemble']:.4f} "
        f"(weight {weight:.2f}), {minutes:.1f} min"
    )
    return Report(
        folder=out, labels=names, val_accuracy=accuracy, minutes=minutes, similarity=similarity
    )


def _save(
    out: Path,
    trained: Trained,
    ngram: Any,
    card: dict[str, Any],
    heldout: list[dict[str, str]],
    progress: Callable[[str], None],
) -> None:
    """Write into a sibling folder and rename it, so a crash never leaves half a model."""
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    encoder, head = trained.encoder, trained.head.state_dict()
    encoder.bert.save_pretrained(partial / "encoder")
    encoder.tokenizer.save_pretrained(partial / "encoder")
    save_file({k: v.contiguous() for k, v in head.items()}, str(partial / "head.safetensors"))
    # Serving's path, exported once here so that a serving process needs no torch export.
    card["onnx"] = onnx_export.export(
        partial, encoder, trained.head, similarity_layer=card["similarity"]["layer"],
        progress=progress,
    )  # fmt: skip
    ngram.save(partial / NGRAM_FILE)
    with (partial / HELDOUT).open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in heldout)
    (partial / "model.json").write_text(
        json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    if out.exists():
        out.rmdir()  # empty, checked above
    partial.rename(out)
