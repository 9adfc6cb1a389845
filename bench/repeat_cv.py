"""Cross-validated repeat figures of the pair scorer on a labelled set's dev part.

Each case of each set (by default the three the default model's scorer is fitted on: the
dev parts of routing-eval-v2 and -v3 and routing-eval.yaml, pooled) is paired with the earlier cases
retrieval finds (repeat_scorer.labelled_pairs); the pairs are split into folds by enterprise
(an enterprise's chains and near misses stay together, as the set's dev/test split keeps them),
the scorer is fitted on the other folds, and each case is flagged as routing flags it: by its
best-scored candidate at or above a threshold. Prints precision, recall and the near misses
flagged per threshold for the shipped features and, with --variants, for other sets of them
(`+name` adds a measure, `-name` drops one; `content_cosine` is the embeddings' cosine of the
texts without the enterprise's frame, a second encoder pass), in one run on the same folds; with
--corpus the bootstrap corpus' pairs join every fold's training pairs. With --by-set each set is
scored by a scorer fitted on the other sets only: how it does on an author it never saw. Prints
the fitted-on-all weights. Choose the threshold here, on dev only.
"""

import argparse
import random
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from classifier.bootstrap import STYLES, renderings
from classifier.cli import REPEAT_PAIRS
from classifier.inference import Classifier
from classifier.pairs import content
from classifier.registry import active_name
from classifier.repeat_scorer import (
    FEATURES,
    MEASURES,
    LabelledPair,
    balanced,
    corpus_rows,
    features,
    fit,
    labelled_pairs,
)
from classifier.settings import get_classifier_settings

THRESHOLDS = (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
# The scorer before issue 13's second round (qisu-repeat-scorer/2), for comparison.
SCORER_2 = (
    "cosine", "overlap", "content_overlap", "same_top_unit", "follow_up", "another_matter",
)  # fmt: skip
CONTENT_COSINE = "content_cosine"


def variant(spec: str) -> tuple[str, ...]:
    """A set of features: `shipped`, `scorer2`, or either with `+name`/`-name` edits."""
    base, *edits = spec.replace("-", " -").replace("+", " +").split()
    names = list({"shipped": FEATURES, "scorer2": SCORER_2}[base])
    for edit in edits:
        name = edit[1:]
        if name not in MEASURES and name != CONTENT_COSINE:
            raise SystemExit(f"unknown measure {name!r}: one of {', '.join(MEASURES)}")
        names = [n for n in names if n != name] + ([name] if edit[0] == "+" else [])
    return tuple(names)


def table(
    pairs: list[LabelledPair], names: tuple[str, ...], content_cosines: np.ndarray
) -> np.ndarray:
    """The pairs' features of one variant, content_cosine (computed outside) included."""
    own = tuple(n for n in names if n != CONTENT_COSINE)
    rows = np.array([features(p.facts, own) for p in pairs], dtype=np.float64)
    if CONTENT_COSINE in names:
        rows = np.column_stack([rows, content_cosines])
    return rows


def folded_scores(
    pairs: list[LabelledPair],
    rows: np.ndarray,
    *,
    folds: int,
    seed: int,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
    by_set: bool = False,
) -> np.ndarray:
    """Each pair's score from a scorer fitted without its enterprise's fold, or with by_set
    without its whole set (another author's appeals), each set weighed alike as the build
    weighs them (and with `extra` rows and targets, the corpus' pairs, weighed to count as
    much as the fold's pairs)."""
    enterprises = sorted({p.enterprise for p in pairs})
    random.Random(seed).shuffle(enterprises)
    fold = {e: k % folds for k, e in enumerate(enterprises)}
    if by_set:
        sets = sorted({_set(e) for e in enterprises})
        fold, folds = {e: sets.index(_set(e)) for e in enterprises}, len(sets)
    scores = np.zeros(len(pairs))
    for k in range(folds):
        train = [n for n, p in enumerate(pairs) if fold[p.enterprise] != k]
        held = [n for n, p in enumerate(pairs) if fold[p.enterprise] == k]
        x, y = list(rows[train]), [pairs[n].repeat for n in train]
        w = balanced([_set(pairs[n].enterprise) for n in train])
        if extra is not None:
            x += list(extra[0])
            y += list(extra[1])
            w += [len(train) / len(extra[1])] * len(extra[1])
        scorer = fit([list(r) for r in x], y, w)
        scores[held] = scorer.score([list(r) for r in rows[held]])
    return scores


def _set(enterprise: str) -> str:
    """The labelled set an enterprise key (`path:key`) belongs to."""
    return enterprise.rsplit(":", 1)[0]


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


def _texts(pair: LabelledPair) -> tuple[str, str]:
    return pair.facts.new_text, pair.facts.earlier_text


def content_cosines(pairs: list[LabelledPair], classifier: Classifier) -> np.ndarray:
    """Each pair's cosine of its texts' embeddings once the enterprise's frame is left out."""
    texts = sorted({content(t, p.facts.shared) for p in pairs for t in _texts(p)})
    vectors = dict(zip(texts, classifier.embed(texts), strict=True))
    return np.array(
        [
            float(
                vectors[content(p.facts.new_text, p.facts.shared)]
                @ vectors[content(p.facts.earlier_text, p.facts.shared)]
            )
            for p in pairs
        ]
    )


def corpus_table(names: tuple[str, ...], classifier: Classifier) -> tuple[np.ndarray, np.ndarray]:
    """The bootstrap corpus' pairs (each matter's renderings against the same unit's and the
    same enterprise's other matters) with one variant's features."""
    if CONTENT_COSINE in names:
        raise SystemExit("--corpus does not compute content_cosine")
    rows = renderings(held_out=False, styles=STYLES)
    vectors = classifier.embed([r.text for r in rows])
    x, y = corpus_rows(rows, vectors, classifier.labels, seed=5, names=names)
    return np.array(x, dtype=np.float64), np.array(y)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", type=Path, nargs="+", default=REPEAT_PAIRS,
        help="Labelled sets (dev parts), pooled; figures per set.",
    )  # fmt: skip
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=5, help="Fold assignments averaged over.")
    parser.add_argument(
        "--variants",
        nargs="*",
        default=["shipped"],
        help="Feature sets to compare: shipped, scorer2, e.g. shipped-same_phone+content_cosine.",
    )
    parser.add_argument(
        "--corpus", action="store_true", help="Add the bootstrap corpus' pairs to every fold."
    )
    parser.add_argument(
        "--by-set",
        action="store_true",
        help="Score each set with a scorer fitted on the others only (an unseen author).",
    )
    args = parser.parse_args()
    settings = get_classifier_settings()
    name = active_name(settings.models_dir)
    if name is None:
        print("no active model", file=sys.stderr)
        return 2
    classifier = Classifier(settings.models_dir / name, threads=settings.torch_threads)
    # One pool of pairs, folded by enterprise; an enterprise key is its file's, not shared.
    pairs: list[LabelledPair] = []
    parts: dict[Path, tuple[list[int], list[dict]]] = {}
    for path in args.cases:
        own = [
            replace(p, enterprise=f"{path}:{p.enterprise}")
            for p in labelled_pairs(path, classifier)
        ]
        cases = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
        parts[path] = (list(range(len(pairs), len(pairs) + len(own))), cases)
        pairs += own
        print(f"model {name}, {path}: {len(own)} pairs, {sum(p.repeat for p in own)} repeats")
    variants = [variant(spec) for spec in args.variants]
    cosines = (
        content_cosines(pairs, classifier)
        if any(CONTENT_COSINE in v for v in variants)
        else np.zeros(len(pairs))
    )
    for spec, names in zip(args.variants, variants, strict=True):
        rows = table(pairs, names, cosines)
        extra = corpus_table(names, classifier) if args.corpus else None
        seeds = 1 if args.by_set else args.seeds  # one way to leave each set out
        runs = [
            folded_scores(pairs, rows, folds=args.folds, seed=s, extra=extra, by_set=args.by_set)
            for s in range(seeds)
        ]
        with_corpus = " + corpus pairs" if args.corpus else ""
        print(f"{spec}{with_corpus}: {', '.join(names)}")
        folds = "fitted on the other sets" if args.by_set else f"{seeds}x{args.folds} folds"
        for path, (index, cases) in parts.items():
            print(f"  {path}: threshold: precision, recall, near misses flagged ({folds})")
            own = [pairs[n] for n in index]
            for threshold in THRESHOLDS:
                figs = [figures(own, scores[index], cases, threshold) for scores in runs]
                p, r, n = np.nanmean(np.array(figs), axis=0)
                print(f"    {threshold:.2f}: {p:.3f} {r:.3f} {n:.3f}")
        share = balanced([_set(p.enterprise) for p in pairs])
        scorer = fit([list(r) for r in rows], [p.repeat for p in pairs], share)
        ranked = sorted(zip(names, scorer.coef, strict=True), key=lambda t: -abs(t[1]))
        weights = ", ".join(f"{n} {w:+.2f}" for n, w in ranked)
        print(f"  weights on all pairs (standardised): {weights}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
