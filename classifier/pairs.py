"""Pairs of appeals for repeat detection, built from the bootstrap corpus, and their overlap."""

import random
import re
from collections import defaultdict
from dataclasses import dataclass

from classifier.bootstrap import FIRST_STYLES, Rendering

REPEAT, SAME_UNIT, SAME_ENTERPRISE = "repeat", "same unit", "same enterprise"
_NOT_WORD = re.compile(r"[^\w]|_")


@dataclass(frozen=True)
class Pair:
    """Two renderings (indices), the earlier one raised first, and what they are to each other."""

    earlier: int
    later: int
    kind: str

    @property
    def repeat(self) -> bool:
        """Whether the later one raises the same matter again."""
        return self.kind == REPEAT


def bigrams(text: str) -> set[str]:
    """The text's pairs of adjacent letters, punctuation and spaces left out."""
    letters = _NOT_WORD.sub("", text)
    return {letters[i : i + 2] for i in range(len(letters) - 1)}


def overlap(a: str, b: str) -> float:
    """Share of the shorter text's character pairs found in the other (0 to 1)."""
    first, second = bigrams(a), bigrams(b)
    return len(first & second) / min(len(first), len(second)) if first and second else 0.0


def corpus_pairs(rows: list[Rendering], *, seed: int, negatives: int = 2) -> list[Pair]:
    """Every repeat pair of each matter, and for each `negatives` of each kind of near miss.

    The earlier text of a pair is a first raising (styles 0-4); the later one any style,
    follow-ups included. Near misses: the same unit's other matters, the same enterprise's.
    """
    rng = random.Random(seed)
    by_matter: dict[int, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_matter[row.matter].append(i)
    first = {m: [i for i in idx if rows[i].style < FIRST_STYLES] for m, idx in by_matter.items()}
    by_unit: dict[str, list[int]] = defaultdict(list)
    by_company: dict[str, list[int]] = defaultdict(list)
    for matter, idx in by_matter.items():
        by_unit[rows[idx[0]].label].append(matter)
        by_company[rows[idx[0]].company].append(matter)
    pairs: list[Pair] = []
    for matter, idx in by_matter.items():
        row = rows[idx[0]]
        for later in idx:
            for earlier in first[matter]:
                if earlier != later:
                    pairs.append(Pair(earlier, later, REPEAT))
        for kind, pool in (
            (SAME_UNIT, by_unit[row.label]),
            (SAME_ENTERPRISE, by_company[row.company]),
        ):
            others = [
                m
                for m in pool
                if m != matter and (kind == SAME_UNIT or rows[by_matter[m][0]].label != row.label)
            ]
            for later in idx:
                for other in rng.sample(others, min(negatives, len(others))):
                    pairs.append(Pair(rng.choice(first[other]), later, kind))
    return pairs


# What two appeals of one enterprise say whatever their matter: the hotline's framing of the
# caller, the enterprise speaking of itself, and the closing asks. Left out, the character pairs
# that remain are the matter's own.
_BOILERPLATE = re.compile(
    r"来电人?(称其?|反映|表示)?|称其(公司|为|系)?|我(司|们|厂)|企业|公司|希望|要求|恳请|请求?|"
    r"反映|诉求|相关部门|尽快|处理|协调|问题|一事|的事"
)
_ENTERPRISE_FORM = re.compile(r"^上海|(有限(责任)?公司|分公司|有限公司.*分公司)$")


def content(text: str, shared: tuple[str, ...] = ()) -> str:
    """The text without what its enterprise's every appeal shares: the `shared` strings (the
    enterprise's name, without its legal form too; addresses), and the hotline's boilerplate."""
    letters = _NOT_WORD.sub("", text)
    names = {s for s in shared if s} | {_ENTERPRISE_FORM.sub("", s) for s in shared if s}
    for name in sorted(names, key=len, reverse=True):
        if len(name) >= 2:
            letters = letters.replace(name, "")
    return _BOILERPLATE.sub("", letters)


def content_overlap(a: str, b: str, shared: tuple[str, ...] = ()) -> float:
    """The share of character pairs of the two texts' contents (`content`)."""
    return overlap(content(a, shared), content(b, shared))
