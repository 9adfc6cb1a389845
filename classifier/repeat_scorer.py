"""Repeat detection as a trained pair scorer: is a new appeal the same matter as an earlier one?

A logistic regression over features known at intake: the similarity embeddings' cosine, the
texts' share of character pairs, whether both texts' top units agree, the time gap, whether the
earlier ticket was answered, re-complaint phrases in the new text (再次, 仍未, 上次反映 …) and
shared phone and address. It is trained on pairs built from the bootstrap corpus (each matter's
renderings are repeats of each other; the same unit's and the same enterprise's other matters
are not) plus the repeats operators confirmed or unlinked, and saved as JSON in the model folder.
"""

import json
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from classifier.bootstrap import FIRST_STYLES, Rendering
from classifier.errors import ClassifierError
from classifier.pairs import Pair, corpus_pairs, overlap

FILE = "repeats.json"
FORMAT = "qisu-repeat-scorer/1"
FEATURES = (
    "cosine", "overlap", "same_top_unit", "again", "earlier_answered", "again_and_answered",
    "log_gap_days", "same_phone", "same_address",
)  # fmt: skip
# Words with which an enterprise raises a matter again; whitespace is ignored.
_AGAIN = re.compile(
    r"再次|再度|又(来|一次|反映|打|问|找)|仍(未|然|旧|没)|还(没|是没|未)|依(然|旧)|至今|"
    r"(上次|之前|此前|曾经?|早前|前期|多次|已经?|上个月|上周)(反映|投诉|来电|提过|说过|打过)|"
    r"第[二三四五六2-6]次|重复(反映|投诉)|反映过|没有(下文|进展|动静|回音)"
)


def again(text: str) -> bool:
    """Whether the text says the matter was raised before."""
    return bool(_AGAIN.search(re.sub(r"\s+", "", text)))


@dataclass(frozen=True)
class PairFacts:
    """What is known at intake about a new appeal and one earlier ticket."""

    cosine: float
    new_text: str
    earlier_text: str
    same_top_unit: bool
    gap_days: float
    earlier_answered: bool
    same_phone: bool
    same_address: bool


def features(facts: PairFacts) -> list[float]:
    """The scorer's inputs for one pair, in FEATURES order."""
    raised = float(again(facts.new_text))
    answered = float(facts.earlier_answered)
    return [
        facts.cosine,
        overlap(facts.new_text, facts.earlier_text),
        float(facts.same_top_unit),
        raised,
        answered,
        raised * answered,
        math.log1p(max(facts.gap_days, 0.0)),
        float(facts.same_phone),
        float(facts.same_address),
    ]


class RepeatScorer:
    """A fitted pair scorer: the probability that a pair is a repeat."""

    def __init__(self, coef: list[float], intercept: float, mean: list[float], scale: list[float]):
        self.coef = np.array(coef)
        self.intercept = intercept
        self.mean = np.array(mean)
        self.scale = np.array(scale)

    def score(self, rows: list[list[float]]) -> np.ndarray:
        """The probability of a repeat for each row of features."""
        if not rows:
            return np.zeros(0)
        z = ((np.array(rows) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1 / (1 + np.exp(-z))

    def to_json(self, trained_on: dict[str, Any]) -> dict[str, Any]:
        """The scorer as its file holds it."""
        return {
            "format": FORMAT,
            "features": list(FEATURES),
            "coef": [round(float(x), 6) for x in self.coef],
            "intercept": round(float(self.intercept), 6),
            "mean": [round(float(x), 6) for x in self.mean],
            "scale": [round(float(x), 6) for x in self.scale],
            "trained_on": trained_on,
        }

    def save(self, folder: Path, trained_on: dict[str, Any]) -> None:
        """Write repeats.json into a model folder."""
        text = json.dumps(self.to_json(trained_on), ensure_ascii=False, indent=2) + "\n"
        (folder / FILE).write_text(text, encoding="utf-8")


def load(folder: Path) -> RepeatScorer:
    """The scorer of a model folder; ClassifierError when it is missing or unreadable."""
    path = folder / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClassifierError(f"{folder.name} has no repeat scorer ({FILE})") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ClassifierError(f"{path}: unreadable ({exc})") from None
    if data.get("format") != FORMAT or data.get("features") != list(FEATURES):
        raise ClassifierError(f"{path}: format {data.get('format')!r} is not {FORMAT!r}")
    try:
        return RepeatScorer(data["coef"], data["intercept"], data["mean"], data["scale"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ClassifierError(f"{path}: damaged ({exc})") from None


def fit(rows: list[list[float]], targets: list[bool], weights: list[float]) -> RepeatScorer:
    """Fit the logistic regression on standardised features."""
    x = np.array(rows, dtype=np.float64)
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit((x - mean) / scale, np.array(targets), sample_weight=np.array(weights))
    return RepeatScorer(list(model.coef_[0]), float(model.intercept_[0]), list(mean), list(scale))


# What the corpus cannot tell is simulated alike for repeats and other matters, so only
# confirmed repeats can give it weight; what it can (a follow-up comes after a reply) is not.
_NOISE = 0.15  # how often the classifier's top unit is another (held-out error, about)


def corpus_rows(
    rows: list[Rendering], vectors: np.ndarray, labels: list[str], *, seed: int
) -> tuple[list[list[float]], list[bool]]:
    """Features and targets of the corpus' pairs; vectors are the renderings' embeddings."""
    rng = random.Random(seed)
    pairs: list[Pair] = corpus_pairs(rows, seed=seed)

    def top(i: int) -> str:
        return rows[i].label if rng.random() > _NOISE else rng.choice(labels)

    out, targets = [], []
    for pair in pairs:
        a, b = rows[pair.earlier], rows[pair.later]
        follow_up = pair.repeat and b.style >= FIRST_STYLES
        facts = PairFacts(
            cosine=float(vectors[pair.earlier] @ vectors[pair.later]),
            new_text=b.text,
            earlier_text=a.text,
            same_top_unit=top(pair.earlier) == top(pair.later),
            gap_days=math.exp(rng.uniform(0, math.log(150))),
            earlier_answered=rng.random() < (0.85 if follow_up else 0.5),
            same_phone=rng.random() < 0.7,
            same_address=rng.random() < 0.7,
        )
        out.append(features(facts))
        targets.append(pair.repeat)
    return out, targets


def confirmed_rows(path: Path, classifier: Any) -> list[tuple[list[float], bool]]:
    """Features and targets of the pairs operators settled (routing's feedback export, JSONL:
    text, earlier_text, repeat, gap_days, earlier_answered, same_phone, same_address,
    same_top_unit), the texts embedded by the new model."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise ClassifierError(f"{path}: not a JSONL file of repeat pairs ({exc})") from None
    rows = [row for row in rows if row.get("kind") == "repeat"]
    if not rows:
        return []
    try:
        new = classifier.embed([row["text"] for row in rows])
        old = classifier.embed([row["earlier_text"] for row in rows])
        return [
            (
                features(
                    PairFacts(
                        cosine=float(a @ b),
                        new_text=row["text"],
                        earlier_text=row["earlier_text"],
                        same_top_unit=bool(row["same_top_unit"]),
                        gap_days=float(row["gap_days"]),
                        earlier_answered=bool(row["earlier_answered"]),
                        same_phone=bool(row["same_phone"]),
                        same_address=bool(row["same_address"]),
                    )
                ),
                bool(row["repeat"]),
            )
            for row, a, b in zip(rows, new, old, strict=True)
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise ClassifierError(f"{path}: a repeat pair lacks a field ({exc})") from None
