"""Figures of a classifier on labelled texts: accuracy, macro-F1, top-3, per class, confusion."""

import itertools
from collections import Counter
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support


def expected_calibration_error(
    probabilities: np.ndarray, truth: np.ndarray, bins: int = 15
) -> float:
    """The gap between confidence and accuracy, averaged over equal-width confidence bins."""
    confidence = probabilities.max(1)
    correct = probabilities.argmax(1) == truth
    edges = np.linspace(0.0, 1.0, bins + 1)
    error = 0.0
    for low, high in itertools.pairwise(edges):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            error += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(error)


def evaluate(
    probabilities: np.ndarray, truth: np.ndarray, labels: list[str], *, confused: int = 10
) -> dict[str, Any]:
    """All figures for one model's probabilities against the true label indices."""
    predicted = probabilities.argmax(1)
    top3 = np.argsort(-probabilities, axis=1)[:, :3]
    present = sorted(set(truth.tolist()))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=present, zero_division=0
    )
    pairs = Counter((labels[t], labels[p]) for t, p in zip(truth, predicted, strict=True) if t != p)
    return {
        "examples": len(truth),
        "accuracy": float((predicted == truth).mean()),
        "macro_f1": float(
            f1_score(truth, predicted, labels=present, average="macro", zero_division=0)
        ),
        "top3_accuracy": float((top3 == truth[:, None]).any(1).mean()),
        "calibration_error": expected_calibration_error(probabilities, truth),
        "per_class": {
            labels[c]: {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(s),
            }
            for c, p, r, f, s in zip(present, precision, recall, f1, support, strict=True)
        },
        "confused": [
            {"true": t, "predicted": p, "count": n} for (t, p), n in pairs.most_common(confused)
        ],
    }
