"""The repeat pair scorer: its corpus pairs, its features, and its file."""

import json
from pathlib import Path

import numpy as np
import pytest

from classifier.bootstrap import FIRST_STYLES, STYLES, renderings
from classifier.errors import ClassifierError
from classifier.pairs import REPEAT, SAME_ENTERPRISE, SAME_UNIT, corpus_pairs, overlap
from classifier.repeat_scorer import FEATURES, PairFacts, again, corpus_rows, features, fit, load


@pytest.mark.parametrize(
    ("text", "raised"),
    [
        ("关于厂门口积水的再次反映", True),
        ("上次反映后至今仍未解决", True),
        ("之前反映过的路灯还没修好", True),
        ("第三次打电话了", True),
        ("想咨询一下营业执照变更的材料", False),
        ("请尽快处理，谢谢", False),
    ],
)
def test_re_complaint_phrases(text: str, raised: bool) -> None:
    assert again(text) is raised


def test_corpus_pairs_hold_repeats_and_both_kinds_of_near_miss() -> None:
    rows = renderings(held_out=False, styles=STYLES)[: 8 * 40]  # 40 matters of two units
    pairs = corpus_pairs(rows, seed=1)
    kinds = {p.kind for p in pairs}
    assert kinds == {REPEAT, SAME_UNIT, SAME_ENTERPRISE}
    for pair in pairs:
        earlier, later = rows[pair.earlier], rows[pair.later]
        assert earlier.style < FIRST_STYLES  # a pair starts with a first raising
        assert (earlier.matter == later.matter) is (pair.kind == REPEAT)
        if pair.kind == SAME_UNIT:
            assert earlier.label == later.label
        if pair.kind == SAME_ENTERPRISE:
            assert earlier.company == later.company and earlier.label != later.label


def test_the_scorer_learns_from_pairs_and_round_trips_its_file(tmp_path: Path) -> None:
    rows = renderings(held_out=False, styles=STYLES)[: 8 * 60]
    # Stand-in embeddings: each matter its own direction, plus noise.
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((max(r.matter for r in rows) + 1, 16))
    vectors = np.stack([centres[r.matter] + 0.5 * rng.standard_normal(16) for r in rows])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    x, y = corpus_rows(rows, vectors, sorted({r.label for r in rows}), seed=2)
    assert len(x[0]) == len(FEATURES) and any(y) and not all(y)
    scorer = fit(x, y, [1.0] * len(x))
    scores = scorer.score(x)
    assert scores[np.array(y)].mean() > 0.7 > 0.3 > scores[~np.array(y)].mean()
    scorer.save(tmp_path, {"corpus_pairs": len(x)})
    again_loaded = load(tmp_path)
    assert np.allclose(again_loaded.score(x[:50]), scores[:50], atol=1e-4)
    facts = PairFacts(0.9, "再次反映执照变更", "执照变更", True, 20.0, True, True, False)
    assert len(features(facts)) == len(FEATURES)
    assert overlap("执照变更", "执照变更办理") == 1.0


def test_a_missing_or_damaged_scorer_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ClassifierError, match="no repeat scorer"):
        load(tmp_path)
    (tmp_path / "repeats.json").write_text(json.dumps({"format": "other"}), encoding="utf-8")
    with pytest.raises(ClassifierError, match="format"):
        load(tmp_path)
