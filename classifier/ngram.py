"""Training the character n-gram TF-IDF linear model: the baseline, and the encoder's ensemble
partner. It is kept and served as arrays (`classifier.ngram_model`), not as scikit-learn's."""

import pickle
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.svm import LinearSVC

from classifier.ngram_model import FILE, NgramModel


def fit_ngram(texts: list[str], labels: list[int], *, seed: int = 0) -> NgramModel:
    """Fit TF-IDF over characters 1..3 with a linear SVM."""
    model = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1),
        LinearSVC(C=1.0, random_state=seed),
    )
    return arrays_of(model.fit(texts, labels))


def arrays_of(model: Pipeline) -> NgramModel:
    """The fitted pipeline's vocabulary, idf and SVM weights (also for a folder's old pickle)."""
    vectorizer, svm = model[0], model[-1]
    return NgramModel(
        terms=vectorizer.get_feature_names_out().astype(str),
        idf=vectorizer.idf_,
        coef=svm.coef_,
        intercept=svm.intercept_,
        classes=svm.classes_,
        longest=vectorizer.ngram_range[1],
    )


def write_arrays(folder: Path) -> bool:
    """Give a folder built before the arrays its ngram.npz, from its pickle; whether it did."""
    if (folder / FILE).is_file() or not (folder / "ngram.pkl").is_file():
        return False
    with (folder / "ngram.pkl").open("rb") as handle:
        arrays_of(pickle.load(handle)).save(folder / FILE)
    return True
