"""Repeat detection as a trained pair scorer: is a new appeal the same matter as an earlier one?

A logistic regression over what the texts say: the similarity embeddings' cosine, the texts'
share of character pairs, the same share once what the enterprise's every appeal shares is left
out (its name, the addresses, the hotline's boilerplate), whether both texts' top units agree,
whether the new text follows a matter up (再次, 仍未, 上次反映, 反映后…, 有进展, 又没下文 …), and
whether it says it raises another one (另反映, 另外问一下, 另咨询 …). Its weights come from
labelled appeals written the way enterprises write (a routing-eval set's dev part: each case
against the earlier cases retrieval would find), or, without one, from pairs built from the
bootstrap corpus (each matter's renderings are repeats of each other; the same unit's and the
same enterprise's other matters are not); the repeats operators confirmed or unlinked join
either. Saved as JSON in the model folder.

Shared phone or address, the time gap and whether the earlier ticket was answered are left out:
the corpus can only simulate them, and a labelled set's authors decide them, so a weight learnt
for them would be an artefact of whoever wrote the pairs.
"""

import json
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from classifier.bootstrap import Rendering
from classifier.errors import ClassifierError
from classifier.pairs import Pair, content_overlap, corpus_pairs, overlap

FILE = "repeats.json"
FORMAT = "qisu-repeat-scorer/2"
FEATURES = (
    "cosine", "overlap", "content_overlap", "same_top_unit", "follow_up", "another_matter",
)  # fmt: skip
# Words with which an enterprise raises a matter again or reports how it went since; whitespace
# is ignored. 还是 alone asks a choice (…还是用店里的就行), so only 还是…的事 and the like count.
_AGAIN = re.compile(
    r"再次|再度|又(来|一次|反映|打|问|找|没|被|出现|停|摆|卡|称)|仍(未|然|旧|没|有|在|到)|"
    r"还(没|是没|未)|还是.{0,12}(的事|问题|老样子|一样)|依(然|旧)|至今|"
    r"(上次|之前|此前|曾经?|早前|前期|多次|已经?|上个月|上周)已?"
    r"(反映|投诉|来电|提过|说过|打过|写过|问过|咨询)|"
    r"第[二三四五六2-6]次|重复(反映|投诉)|反映(过|后)|没有?(下文|进展|动静|回音|消息)|"
    r"有[点了些]?进展|(的事|一事|问题)(还|仍|又|一直|到底|有|已)|"
    r"(看|查|检查|量|冲洗)过|(回复|答复|回电)(说|称)|受理了|这么多次"
)
# Words with which an appeal turns to another matter of the same enterprise.
_ANOTHER = re.compile(
    r"^另|[，。；：:]另|另(外|反映|咨询|问|有|案|一)|顺便|还有一[件个]事|这次反映"
)


# Routing weighs one new text against up to candidate_limit earlier ones: read its phrases once.
@lru_cache(maxsize=256)
def again(text: str) -> bool:
    """Whether the text says the matter was raised before, or how it went since."""
    return bool(_AGAIN.search(re.sub(r"\s+", "", text)))


@lru_cache(maxsize=256)
def another(text: str) -> bool:
    """Whether the text says it raises another matter (另反映, 另外问一下 …)."""
    return bool(_ANOTHER.search(re.sub(r"\s+", "", text)))


@dataclass(frozen=True)
class PairFacts:
    """What is known at intake about a new appeal and one earlier ticket."""

    cosine: float
    new_text: str
    earlier_text: str
    same_top_unit: bool
    shared: tuple[str, ...] = ()  # what both may say whatever the matter: name, addresses


def features(facts: PairFacts) -> list[float]:
    """The scorer's inputs for one pair, in FEATURES order."""
    return [
        facts.cosine,
        overlap(facts.new_text, facts.earlier_text),
        content_overlap(facts.new_text, facts.earlier_text, facts.shared),
        float(facts.same_top_unit),
        float(again(facts.new_text)),
        float(another(facts.new_text)),
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
        raise ClassifierError(
            f"{path}: format {data.get('format')!r} is not {FORMAT!r} "
            f"(`qisu model retrain-repeats {folder.name}` rewrites it)"
        )
    try:
        return RepeatScorer(data["coef"], data["intercept"], data["mean"], data["scale"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ClassifierError(f"{path}: damaged ({exc})") from None


def fit(rows: list[list[float]], targets: list[bool], weights: list[float]) -> RepeatScorer:
    """Fit the logistic regression on standardised features."""
    from sklearn.linear_model import LogisticRegression  # fitting only: serving scores with numpy

    x = np.array(rows, dtype=np.float64)
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit((x - mean) / scale, np.array(targets), sample_weight=np.array(weights))
    return RepeatScorer(list(model.coef_[0]), float(model.intercept_[0]), list(mean), list(scale))


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
        facts = PairFacts(
            cosine=float(vectors[pair.earlier] @ vectors[pair.later]),
            new_text=b.text,
            earlier_text=a.text,
            same_top_unit=top(pair.earlier) == top(pair.later),
        )
        out.append(features(facts))
        targets.append(pair.repeat)
    return out, targets


def confirmed_rows(path: Path, classifier: Any) -> list[tuple[list[float], bool]]:
    """Features and targets of the pairs operators settled (routing's feedback export, JSONL:
    text, earlier_text, repeat, same_top_unit, shared and more), the texts embedded by the new
    model."""
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
                        shared=tuple(str(s) for s in row.get("shared") or ()),
                    )
                ),
                bool(row["repeat"]),
            )
            for row, a, b in zip(rows, new, old, strict=True)
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise ClassifierError(f"{path}: a repeat pair lacks a field ({exc})") from None


@dataclass(frozen=True)
class LabelledPair:
    """One case of a labelled set against one earlier case that retrieval finds."""

    case: int  # the new case's id
    earlier: int
    enterprise: str  # the new case's enterprise key
    row: list[float]
    repeat: bool


def labelled_pairs(path: Path, classifier: Any) -> list[LabelledPair]:
    """The pairs of a labelled set (a routing-eval YAML: enterprises with a name, cases in time
    order with id, ent, phone, address, text and repeat_of): each case against every earlier
    case sharing its enterprise, phone or address, as retrieval finds them at intake (the sets
    span less than its window); a pair is a repeat when both cases belong to one chain."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        names = {key: str(entry["name"]) for key, entry in data["enterprises"].items()}
        cases = data["cases"]
        root: dict[int, int] = {}
        for case in cases:  # a chain's root is its first case; the set lists cases in order
            root[case["id"]] = root.get(case.get("repeat_of") or case["id"], case["id"])
        probabilities, vectors = classifier.analyse([case["text"] for case in cases])
        tops = [classifier.labels[int(i)] for i in np.argmax(probabilities, axis=1)]
        out = []
        for j, new in enumerate(cases):
            for i, old in enumerate(cases[:j]):
                if not any(new[key] == old[key] for key in ("ent", "phone", "address")):
                    continue
                facts = PairFacts(
                    cosine=float(vectors[i] @ vectors[j]),
                    new_text=new["text"],
                    earlier_text=old["text"],
                    same_top_unit=tops[i] == tops[j],
                    shared=(names[new["ent"]], new["address"], old["address"]),
                )
                repeat = root[new["id"]] == root[old["id"]]
                out.append(LabelledPair(new["id"], old["id"], new["ent"], features(facts), repeat))
        return out
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise ClassifierError(f"{path}: not a labelled set of appeals ({exc})") from None


def labelled_rows(path: Path, classifier: Any) -> list[tuple[list[float], bool]]:
    """Features and targets of a labelled set's pairs (`labelled_pairs`)."""
    return [(pair.row, pair.repeat) for pair in labelled_pairs(path, classifier)]
