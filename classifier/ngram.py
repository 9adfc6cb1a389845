"""The character n-gram TF-IDF linear model: the baseline, and the encoder's ensemble partner."""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.svm import LinearSVC


def fit_ngram(texts: list[str], labels: list[int], *, seed: int = 0) -> Pipeline:
    """Fit TF-IDF over characters 1..3 with a linear SVM."""
    model = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1),
        LinearSVC(C=1.0, random_state=seed),
    )
    return model.fit(texts, labels)


def ngram_scores(model: Pipeline, texts: list[str], classes: int) -> np.ndarray:
    """Decision scores [texts, classes], with classes absent from training at a floor."""
    raw = model.decision_function(texts)
    scores = np.full((len(texts), classes), raw.min() - 1.0, dtype=np.float32)
    scores[:, model.classes_] = raw
    return scores
