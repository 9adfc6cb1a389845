"""The n-gram model as plain arrays, scored with numpy: serving needs no scikit-learn.

TF-IDF over characters 1..3 (lower-cased, sublinear tf, smoothed idf, unit-length rows) and a
linear SVM's weights, computed as scikit-learn's pipeline computes them (`classifier.ngram`
trains it and converts it; tests/classifier/test_ngram_model.py holds the scores equal).
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classifier.errors import ClassifierError

FILE = "ngram.npz"
# scikit-learn's character analyzer collapses every run of two or more whitespace characters.
_WHITE_SPACES = re.compile(r"\s\s+")


@dataclass
class NgramModel:
    """The vocabulary with its idf, and each class's SVM weights and intercept."""

    terms: np.ndarray  # [features] the n-grams, in column order
    idf: np.ndarray  # [features]
    coef: np.ndarray  # [classes trained, features]
    intercept: np.ndarray  # [classes trained]
    classes: np.ndarray  # [classes trained] the label index of each row of coef
    longest: int = 3  # n-grams of 1..longest characters
    index: dict[str, int] = field(init=False, repr=False)  # an n-gram's column

    def __post_init__(self) -> None:
        self.index = {str(term): column for column, term in enumerate(self.terms)}

    def _grams(self, text: str) -> list[str]:
        text = _WHITE_SPACES.sub(" ", text.lower())
        return [
            text[i : i + n]
            for n in range(1, min(self.longest, len(text)) + 1)
            for i in range(len(text) - n + 1)
        ]

    def decision(self, texts: list[str]) -> np.ndarray:
        """The SVM's decision scores [texts, classes trained]."""
        scores = np.tile(self.intercept, (len(texts), 1))
        for row, text in enumerate(texts):
            counts: dict[int, int] = {}
            for gram in self._grams(text):
                column = self.index.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if not counts:
                continue
            columns = np.fromiter(counts, dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            weights = (np.log(tf) + 1.0) * self.idf[columns]
            weights /= np.sqrt(np.dot(weights, weights))
            scores[row] += self.coef[:, columns] @ weights
        return scores

    def scores(self, texts: list[str], classes: int) -> np.ndarray:
        """Decision scores [texts, classes], with classes absent from training at a floor."""
        raw = self.decision(texts)
        scores = np.full((len(texts), classes), raw.min() - 1.0, dtype=np.float32)
        scores[:, self.classes] = raw
        return scores

    def save(self, path: Path) -> None:
        """Write the arrays (no pickle: loading runs no code)."""
        with path.open("wb") as out:
            np.savez(
                out,
                terms=self.terms,
                idf=self.idf,
                coef=self.coef,
                intercept=self.intercept,
                classes=self.classes,
                longest=np.array(self.longest),
            )


def load(path: Path) -> NgramModel:
    """Read the arrays `NgramModel.save` wrote."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return NgramModel(
                terms=data["terms"],
                idf=data["idf"],
                coef=data["coef"],
                intercept=data["intercept"],
                classes=data["classes"],
                longest=int(data["longest"]),
            )
    except (OSError, KeyError, ValueError) as exc:
        raise ClassifierError(f"{path}: damaged n-gram model ({exc})") from None
