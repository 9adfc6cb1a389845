"""The Jiading default model: the classifier, its repeat scorer, and its held-out figures."""

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from classifier import repeat_scorer
from classifier.bootstrap import Rendering, corpus
from classifier.errors import ClassifierError
from classifier.inference import Classifier
from classifier.pipeline import Report, train_model
from classifier.training import TrainConfig

# The default keeps all of e5 frozen and trains the head over its own mean-pooled states: those
# states embed for similarity far better than any lower layer's (bench/similarity_layers.py: a
# matter's renderings against the same unit's and enterprise's other matters, ROC AUC 0.97 at
# the last layer, at most 0.83 below the eleventh), so routing and repeats read one vector from
# one pass; and the build is one encoding of the corpus, minutes on two cores.
FROZEN_LAYERS = 12
# A distilled student (classifier/distillation.py): e5's own first four layers, frozen, then two
# trained from copies of its eighth and last: half the teacher's cost per text.
STUDENT_LAYERS = (0, 1, 2, 3, 7, 11)
CONFIRMED_WEIGHT = 5.0  # a pair an operator settled says more than one rendered or written for us


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
    groups: list[int] | None = None,
    student: bool = False,
) -> Report:
    """Train the default model's head over e5 (or over a student distilled from it), fit the
    n-gram partner, save."""
    config = config or TrainConfig(
        frozen_layers=FROZEN_LAYERS, max_minutes=max_minutes, epochs=300, patience=15,
        batch_size=64, head_lr=3e-3, head_only=True,
        student_layers=STUDENT_LAYERS if student else (),
    )  # fmt: skip
    return train_model(
        texts, labels, base=base, out=out, config=config, fingerprint=fingerprint,
        progress=progress, cache=cache_file(out.parent, base, config.max_tokens), groups=groups,
    )  # fmt: skip


def cache_file(models_dir: Path, base: Path, max_tokens: int) -> Path:
    """Where the base encoder's pooled states of the corpus are kept between builds."""
    weights = base / "model.safetensors"
    stamp = f"{base.resolve()}:{weights.stat().st_mtime_ns if weights.is_file() else 0}"
    digest = hashlib.sha1(f"{stamp}:{max_tokens}".encode()).hexdigest()[:12]
    return models_dir / ".cache" / f"pooled-{digest}.npz"


def fit_repeat_scorer(
    folder: Path,
    rows: list[Rendering] | None,
    vectors: np.ndarray | None,
    *,
    confirmed: Path | None,
    threads: int,
    progress: Callable[[str], None],
    labelled: Sequence[Path] = (),
) -> None:
    """Fit the pair scorer on labelled sets' pairs, or without one on the corpus' pairs
    (rows and their vectors), and the confirmed repeats; save it with the model."""
    classifier = Classifier(folder, threads=threads)
    if labelled:
        found = [
            (str(path), *pair)
            for path in labelled
            for pair in repeat_scorer.labelled_rows(path, classifier)
        ]
        x, y = [row for _, row, _ in found], [target for _, _, target in found]
        # Each set is one author's: the first set's 328 easy pairs must not outweigh v2's 112.
        weights = repeat_scorer.balanced([path for path, _, _ in found])
        source = f"{len(x)} pairs of {' and '.join('/'.join(path.parts[-2:]) for path in labelled)}"
    elif rows is not None and vectors is not None:
        x, y = repeat_scorer.corpus_rows(rows, vectors, sorted({r.label for r in rows}), seed=5)
        weights = [1.0] * len(x)
        source = f"{len(x)} corpus pairs"
    else:
        raise ClassifierError("the repeat scorer needs a labelled set or the corpus' pairs")
    own = len(x)
    if confirmed is not None:
        settled = repeat_scorer.confirmed_rows(confirmed, classifier)
        x += [row for row, _ in settled]
        y += [target for _, target in settled]
        weights += [CONFIRMED_WEIGHT] * len(settled)
    scorer = repeat_scorer.fit(x, y, weights)
    told = len(x) - own
    scorer.save(folder, {"pairs": source, "confirmed_pairs": told})
    progress(f"repeat scorer: {source} ({sum(y[:own])} repeats), {told} confirmed by operators")


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
