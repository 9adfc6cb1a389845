"""The Jiading default model: the classifier, its repeat scorer, and its held-out figures."""

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from classifier import repeat_scorer
from classifier.bootstrap import Rendering, corpus
from classifier.inference import Classifier
from classifier.pipeline import Report, train_model
from classifier.training import TrainConfig

# The default fine-tunes the top layer only: the states after 11 of e5's 12 layers stay e5's own
# and embed for similarity (bench/similarity_layers.py: they tell a matter's renderings from the
# same unit's and enterprise's other matters far better than any lower layer), from the same
# pass that routes. Training one layer also keeps the build within minutes on two cores.
FROZEN_LAYERS = 11
CONFIRMED_WEIGHT = 5.0  # one pair an operator settled says more than one rendered from the corpus


def train(
    texts: list[str],
    labels: list[str],
    *,
    base: Path,
    out: Path,
    max_minutes: float,
    fingerprint: str,
    progress: Callable[[str], None],
    config: TrainConfig | None = None,
) -> Report:
    """Fine-tune the default model's top layer and head, fit the n-gram partner, save."""
    config = config or TrainConfig(frozen_layers=FROZEN_LAYERS, max_minutes=max_minutes)
    return train_model(
        texts, labels, base=base, out=out, config=config, fingerprint=fingerprint,
        progress=progress,
    )  # fmt: skip


def fit_repeat_scorer(
    folder: Path,
    rows: list[Rendering],
    vectors: np.ndarray,
    *,
    confirmed: Path | None,
    threads: int,
    progress: Callable[[str], None],
) -> None:
    """Fit the pair scorer on the corpus' pairs (and confirmed repeats); save it with the model."""
    x, y = repeat_scorer.corpus_rows(rows, vectors, sorted({r.label for r in rows}), seed=5)
    corpus_pairs = len(x)
    weights = [1.0] * corpus_pairs
    if confirmed is not None:
        settled = repeat_scorer.confirmed_rows(confirmed, Classifier(folder, threads=threads))
        x += [row for row, _ in settled]
        y += [target for _, target in settled]
        weights += [CONFIRMED_WEIGHT] * len(settled)
    scorer = repeat_scorer.fit(x, y, weights)
    told = len(x) - corpus_pairs
    scorer.save(folder, {"corpus_pairs": corpus_pairs, "confirmed_pairs": told})
    progress(
        f"repeat scorer: {corpus_pairs} corpus pairs ({sum(y[:corpus_pairs])} repeats), "
        f"{told} confirmed by operators"
    )


def evaluate(folder: Path, *, threads: int, progress: Callable[[str], None]) -> dict[str, float]:
    """Accuracy on the held-out matters, noted on the model's card."""
    eval_texts, eval_labels = corpus(held_out=True)
    classifier = Classifier(folder, threads=threads)
    figures = {
        part: f["accuracy"] for part, f in classifier.figures(eval_texts, eval_labels).items()
    }
    card_path = folder / "model.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["evaluation"] = {"set": "held-out bootstrap matters", "accuracy": figures}
    card_path.write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", "utf-8")
    progress(
        f"held-out matters ({len(eval_texts)} appeals): accuracy "
        + ", ".join(f"{part} {value:.4f}" for part, value in figures.items())
    )
    return figures
