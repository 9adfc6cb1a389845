"""Cross-validated repeat figures of the pair scorer on a labelled set's dev part.

Each case of the set (default routing-eval-v2/dev.yaml) is paired with the earlier cases
retrieval finds (repeat_scorer.labelled_pairs); the pairs are split into folds by enterprise
(an enterprise's chains and near misses stay together, as the set's dev/test split keeps them),
the scorer is fitted on the other folds, and each case is flagged as routing flags it: by its
best-scored candidate at or above a threshold. Prints precision, recall and the near misses
flagged per threshold, with the fitted-on-all weights. Choose the threshold here, on dev only.
"""

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from classifier.inference import Classifier
from classifier.registry import active_name
from classifier.repeat_scorer import FEATURES, LabelledPair, fit, labelled_pairs
from classifier.settings import get_classifier_settings

DEV = Path(__file__).parent / "data" / "routing-eval-v2" / "dev.yaml"
THRESHOLDS = (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)


def folded_scores(pairs: list[LabelledPair], *, folds: int, seed: int) -> np.ndarray:
    """Each pair's score from a scorer fitted without its enterprise's fold."""
    enterprises = sorted({p.enterprise for p in pairs})
    random.Random(seed).shuffle(enterprises)
    fold = {e: k % folds for k, e in enumerate(enterprises)}
    scores = np.zeros(len(pairs))
    for k in range(folds):
        train = [p for p in pairs if fold[p.enterprise] != k]
        held = [n for n, p in enumerate(pairs) if fold[p.enterprise] == k]
        scorer = fit([p.row for p in train], [p.repeat for p in train], [1.0] * len(train))
        scores[held] = scorer.score([pairs[n].row for n in held])
    return scores


def figures(
    pairs: list[LabelledPair], scores: np.ndarray, cases: list[dict], threshold: float
) -> tuple[float, float, float]:
    """(precision, recall, near misses flagged) when each case's best candidate decides."""
    best: dict[int, tuple[float, bool]] = {}
    by_case: dict[int, list[int]] = defaultdict(list)
    for n, pair in enumerate(pairs):
        by_case[pair.case].append(n)
    for case, ns in by_case.items():
        top = max(ns, key=lambda n: scores[n])
        best[case] = (float(scores[top]), pairs[top].repeat)
    flagged = {c: right for c, (s, right) in best.items() if s >= threshold}
    repeats = sum(bool(c.get("repeat_of")) for c in cases)
    near = [c["id"] for c in cases if c.get("near_miss")]
    correct = sum(flagged.values())
    return (
        correct / len(flagged) if flagged else float("nan"),
        correct / repeats if repeats else float("nan"),
        sum(c in flagged for c in near) / len(near) if near else float("nan"),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEV, help="A labelled set's dev part.")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=5, help="Fold assignments averaged over.")
    args = parser.parse_args()
    settings = get_classifier_settings()
    name = active_name(settings.models_dir)
    if name is None:
        print("no active model", file=sys.stderr)
        return 2
    classifier = Classifier(settings.models_dir / name, threads=settings.torch_threads)
    pairs = labelled_pairs(args.cases, classifier)
    cases = yaml.safe_load(args.cases.read_text(encoding="utf-8"))["cases"]
    print(f"{args.cases.name}: {len(pairs)} pairs, {sum(p.repeat for p in pairs)} repeats")
    runs = [folded_scores(pairs, folds=args.folds, seed=s) for s in range(args.seeds)]
    print(f"threshold: precision, recall, near misses flagged ({args.seeds}x{args.folds} folds)")
    for threshold in THRESHOLDS:
        rows = np.array([figures(pairs, scores, cases, threshold) for scores in runs])
        p, r, n = np.nanmean(rows, axis=0)
        print(f"  {threshold:.2f}: {p:.3f} {r:.3f} {n:.3f}")
    scorer = fit([p.row for p in pairs], [p.repeat for p in pairs], [1.0] * len(pairs))
    print("weights on all pairs (standardised):")
    for feature, weight in zip(FEATURES, scorer.coef, strict=True):
        print(f"  {feature}: {weight:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
