"""Model versions under QISU_DATA_DIR/models: list, activate (guarded), and the active model.

A version is a trained folder `models/<version>`; `models/ACTIVE` names the active one and is
replaced atomically, so a serving process that checks it picks a new model up without a restart.
"""

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.errors import ClassifierError
from classifier.inference import HELDOUT, Classifier, read_card

ACTIVE = "ACTIVE"


@dataclass(frozen=True)
class Version:
    """One model in the registry."""

    name: str
    folder: Path
    created_at: str
    labels: int
    validation_accuracy: float | None
    active: bool


def versions(models_dir: Path) -> list[Version]:
    """Every model folder, oldest first."""
    active = active_name(models_dir)
    found = []
    for folder in sorted(models_dir.glob("*/model.json")):
        card = read_card(folder.parent)
        found.append(
            Version(
                name=folder.parent.name,
                folder=folder.parent,
                created_at=card.get("created_at", ""),
                labels=len(card["labels"]),
                validation_accuracy=card.get("validation_accuracy", {}).get("ensemble"),
                active=folder.parent.name == active,
            )
        )
    return sorted(found, key=lambda v: v.created_at)


def active_name(models_dir: Path) -> str | None:
    """The active version's name, if one is active."""
    try:
        return (models_dir / ACTIVE).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def heldout_accuracy(classifier: Classifier, folder: Path) -> float:
    """Accuracy on a model folder's held-out rows; labels the classifier lacks count as wrong."""
    rows = [
        json.loads(line)
        for line in (folder / HELDOUT).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    if not rows:
        raise ClassifierError(f"{folder}: no held-out rows to compare on")
    top = classifier.predict([row["text"] for row in rows], k=1)
    return float(np.mean([t[0].label == row["label"] for t, row in zip(top, rows, strict=True)]))


def activate(models_dir: Path, name: str, *, force: bool = False, threads: int = 2) -> str:
    """Make a version active; refused if it scores worse on the active one's held-out rows."""
    folder = models_dir / name
    read_card(folder)
    current = active_name(models_dir)
    message = f"{name} is active"
    if current and current != name and (models_dir / current).is_dir():
        old = heldout_accuracy(
            Classifier(models_dir / current, threads=threads), models_dir / current
        )
        new = heldout_accuracy(Classifier(folder, threads=threads), models_dir / current)
        comparison = f"on {current}'s held-out rows: {name} {new:.4f}, {current} {old:.4f}"
        if new < old and not force:
            raise ClassifierError(f"refused: {comparison}; --force activates it anyway")
        message = f"{name} is active ({comparison})"
    pointer = models_dir / (ACTIVE + ".partial")
    pointer.write_text(name + "\n", encoding="utf-8")
    os.replace(pointer, models_dir / ACTIVE)
    return message


class ActiveModel:
    """The active classifier of a serving process, reloaded when ACTIVE names another version."""

    def __init__(
        self, models_dir: Path, *, threads: int = 2, quantized: bool = False, runtime: str = "auto"
    ) -> None:
        self.models_dir, self.threads, self.quantized = models_dir, threads, quantized
        self.runtime = runtime
        self._lock = threading.Lock()
        self._loaded: Classifier | None = None

    def get(self) -> Classifier | None:
        """The active model, loading it if the pointer moved; None when none is active."""
        name = active_name(self.models_dir)
        with self._lock:
            if name is None:
                self._loaded = None
            elif self._loaded is None or self._loaded.version != name:
                self._loaded = Classifier(
                    self.models_dir / name,
                    threads=self.threads,
                    quantized=self.quantized,
                    runtime=self.runtime,
                )
            return self._loaded
