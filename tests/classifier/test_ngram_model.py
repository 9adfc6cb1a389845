"""The n-gram model's arrays score as the scikit-learn pipeline they came from."""

import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.svm import LinearSVC

from classifier.calibration import log_softmax
from classifier.errors import ClassifierError
from classifier.inference import load_ngram
from classifier.ngram import arrays_of, write_arrays
from classifier.ngram_model import FILE, load

TEXTS = {
    0: ["营业执照变更办理缓慢", "申请执照变更两周未办结", "市场监管部门登记拖延"],
    1: ["出口退税迟迟未到账", "税务申报系统无法登录", "发票开具出错请税务局核实"],
    2: ["厂区门口道路积水严重", "园区路灯损坏夜间无照明", "  道路   施工噪音扰民\t\t夜里"],
}
UNSEEN = [
    "执照变更仍未办结，请尽快处理",
    "退税  还没到账",
    "路灯坏了",
    "完全无关的字",
    "",
    "ＡＢＣ abc\n\n def",
]


@pytest.fixture(scope="module")
def fitted() -> Pipeline:
    texts = [t for rows in TEXTS.values() for t in rows]
    labels = [label for label, rows in TEXTS.items() for _ in rows]
    model = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1),
        LinearSVC(C=1.0, random_state=0),
    )
    return model.fit(texts, labels)


def test_the_arrays_give_the_pipelines_scores_and_probabilities(fitted: Pipeline) -> None:
    arrays = arrays_of(fitted)
    texts = UNSEEN + [t for rows in TEXTS.values() for t in rows]
    expected = fitted.decision_function(texts)
    got = arrays.decision(texts)
    # The same sums in another order: equal to the last bits of a double.
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        np.exp(log_softmax(got, 0.7)), np.exp(log_softmax(expected, 0.7)), rtol=1e-12
    )


def test_saved_arrays_load_without_pickle_and_score_alike(fitted: Pipeline, tmp_path: Path) -> None:
    arrays_of(fitted).save(tmp_path / FILE)
    loaded = load(tmp_path / FILE)
    assert loaded.longest == 3 and loaded.terms.dtype.kind == "U"
    np.testing.assert_array_equal(loaded.scores(UNSEEN, 4), arrays_of(fitted).scores(UNSEEN, 4))
    (tmp_path / FILE).write_bytes(b"not an archive")
    with pytest.raises(ClassifierError, match="damaged n-gram model"):
        load(tmp_path / FILE)


def test_a_folder_built_before_the_arrays_still_loads_its_pickle(
    fitted: Pipeline, tmp_path: Path
) -> None:
    with (tmp_path / "ngram.pkl").open("wb") as out:
        pickle.dump(fitted, out)
    np.testing.assert_allclose(
        load_ngram(tmp_path).decision(UNSEEN), fitted.decision_function(UNSEEN), rtol=1e-12
    )
    # `qisu model build-default --if-missing` (make run) writes the arrays beside it, once.
    assert write_arrays(tmp_path) and not write_arrays(tmp_path)
    (tmp_path / "ngram.pkl").unlink()
    np.testing.assert_allclose(
        load_ngram(tmp_path).decision(UNSEEN), fitted.decision_function(UNSEEN), rtol=1e-12
    )
    (tmp_path / FILE).unlink()
    with pytest.raises(ClassifierError, match="damaged n-gram model"):
        load_ngram(tmp_path)  # neither file: named, not a traceback
