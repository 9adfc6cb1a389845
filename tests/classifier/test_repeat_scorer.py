"""The repeat pair scorer: its corpus pairs, its features, and its file."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from classifier.bootstrap import FIRST_STYLES, STYLES, renderings
from classifier.errors import ClassifierError
from classifier.pairs import (
    REPEAT,
    SAME_ENTERPRISE,
    SAME_UNIT,
    content,
    content_overlap,
    corpus_pairs,
    overlap,
)
from classifier.repeat_scorer import (
    FEATURES,
    FORMAT,
    PairFacts,
    again,
    another,
    balanced,
    confirmed_rows,
    corpus_rows,
    features,
    fit,
    labelled_pairs,
    labelled_rows,
    load,
    top_units,
    unit_overlap,
)


@pytest.mark.parametrize(
    ("text", "raised"),
    [
        ("关于厂门口积水的再次反映", True),
        ("上次反映后至今仍未解决", True),
        ("之前反映过的路灯还没修好", True),
        ("第三次打电话了", True),
        ("来电人称其公司频繁停电问题反映后，供电公司来检查过，近期又停电两次", True),
        ("老厂房办证的事有点进展，规资局的人来现场量过了", True),
        ("还是东大街水果摊的事，城管来了一次他们躲了", True),
        ("分公司注销还卡在那笔滞纳金，又没下文了", True),
        ("我司此前已通过热线咨询，答复为资金统筹中，恳请告知明确拨付时间", True),
        ("噪声矛盾的事，居委会来过一次，但居民还是每天打电话到公司", True),
        ("停电已经四个小时，打电话问了几次都说在抢修", False),
        ("想咨询一下营业执照变更的材料", False),
        ("请尽快处理，谢谢", False),
        ("夜市摆摊要卖烧烤，需要单独办许可吗还是用店里的就行？", False),
    ],
)
def test_re_complaint_phrases(text: str, raised: bool) -> None:
    assert again(text) is raised


@pytest.mark.parametrize(
    ("text", "turns"),
    [
        ("另反映：我司质保金二十八万元至今未退还，恳请一并督促。", True),
        ("另外问一下，国庆想在店门口外摆两张桌子，镇里有没有统一要求？", True),
        ("来电人再次来电，称多缴税款的事已在处理，另反映公司跨省设立了一个项目部", True),
        ("再次反映园区转供电加价的问题，上次回复说已约谈园区", False),
        ("厂门口道路积水，货车进不来", False),
        ("另外一件事：我们租的是国资的厂房，房租减免怎么申请？", True),
        # the rest of the same things, not another matter
        ("行道树迁移审批总算批了一半，另外三棵说要补专家论证，找谁论证？", False),
        ("通行证批了一半，另一半还没有消息", False),
        ("两台设备装好了，另2台还在等电", False),
    ],
)
def test_another_matter_phrases(text: str, turns: bool) -> None:
    assert another(text) is turns


def test_content_leaves_out_what_every_appeal_of_the_enterprise_shares() -> None:
    shared = ("上海嘉诚机电安装工程有限公司", "马陆白银路288号")
    text = (
        "来电人称其公司上海嘉诚机电安装工程有限公司（马陆白银路288号）工程款被拖欠，希望尽快处理。"
    )
    assert content(text, shared) == "工程款被拖欠"
    # The name without its legal form is left out too, as callers shorten it.
    assert content("嘉诚机电安装工程反映路灯坏了", shared) == "路灯坏了"
    # Two matters of one enterprise share little once the frame is gone.
    first = "来电人称其公司上海嘉诚机电安装工程有限公司工程款被拖欠，希望尽快处理。"
    second = "来电人称其公司上海嘉诚机电安装工程有限公司门口路灯损坏，希望尽快处理。"
    assert content_overlap(first, second, shared) < 0.2 < overlap(first, second)


def test_corpus_pairs_hold_repeats_and_both_kinds_of_near_miss() -> None:
    every = renderings(held_out=False, styles=STYLES)
    two = [every[0].label, next(r.label for r in every if r.label != every[0].label)]
    rows = [r for r in every if r.label in two]  # the matters of two units
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
    facts = PairFacts(0.9, "再次反映执照变更", "执照变更", {"tax": 1.0}, {"tax": 1.0}, ("某公司",))
    assert len(features(facts)) == len(FEATURES)
    assert json.loads((tmp_path / "repeats.json").read_text(encoding="utf-8"))["format"] == FORMAT
    assert overlap("执照变更", "执照变更办理") == 1.0


def test_a_missing_or_damaged_scorer_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ClassifierError, match="no repeat scorer"):
        load(tmp_path)
    (tmp_path / "repeats.json").write_text(json.dumps({"format": "other"}), encoding="utf-8")
    with pytest.raises(ClassifierError, match="format"):
        load(tmp_path)

    for older in ("qisu-repeat-scorer/1", "qisu-repeat-scorer/2"):
        (tmp_path / "repeats.json").write_text(
            json.dumps({"format": older, "features": ["cosine"]}), encoding="utf-8"
        )
        with pytest.raises(ClassifierError, match="retrain-repeats"):
            load(tmp_path)


class _Reader:
    """A stand-in classifier: each text's vector and top label from a table."""

    def __init__(self, table: dict[str, tuple[list[float], int]]):
        self.labels = ["tax", "fire"]
        self.table = table

    def analyse(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        vectors = np.array([self.table[t][0] for t in texts], dtype=np.float32)
        probabilities = np.array([[0.8, 0.2], [0.3, 0.7]])[[self.table[t][1] for t in texts]]
        return probabilities, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_labelled_pairs_are_each_case_against_what_retrieval_finds(tmp_path: Path) -> None:
    texts = {
        "出口退税一直没到账": ([1.0, 0.0], 0),
        "上次反映的出口退税至今仍未到账": ([0.9, 0.1], 0),
        "另反映：厂房消防验收怎么办": ([0.0, 1.0], 1),
        "别家企业的路灯坏了": ([0.5, 0.5], 1),
    }
    cases = [
        {"id": 1, "day": 0, "ent": "E1", "phone": "1", "address": "a路1号",
         "text": "出口退税一直没到账"},
        {"id": 2, "day": 9, "ent": "E1", "phone": "2", "address": "a路1号", "repeat_of": 1,
         "text": "上次反映的出口退税至今仍未到账"},
        {"id": 3, "day": 20, "ent": "E1", "phone": "1", "address": "a路1号", "near_miss": 1,
         "text": "另反映：厂房消防验收怎么办"},
        {"id": 4, "day": 21, "ent": "E2", "phone": "4", "address": "b路2号",
         "text": "别家企业的路灯坏了"},
    ]  # fmt: skip
    path = tmp_path / "dev.yaml"
    enterprises = {"E1": {"name": "上海甲公司"}, "E2": {"name": "上海乙公司"}}
    path.write_text(
        yaml.safe_dump({"enterprises": enterprises, "cases": cases}, allow_unicode=True),
        encoding="utf-8",
    )
    pairs = labelled_pairs(path, _Reader(texts))
    assert [(p.case, p.earlier, p.repeat) for p in pairs] == [
        (2, 1, True), (3, 1, False), (3, 2, False),
    ]  # fmt: skip
    follow_up, other = FEATURES.index("follow_up"), FEATURES.index("another_matter")
    assert pairs[0].row[follow_up] == 1.0 and pairs[0].row[other] == 0.0
    assert pairs[1].row[other] == 1.0
    # What the set tells of each pair: the days between, both texts' top units...
    first, second = pairs[0].facts, pairs[1].facts
    assert (first.gap_days, second.gap_days) == (9.0, 20.0)
    assert first.new_units == first.earlier_units == {"tax": 0.8, "fire": 0.2}
    assert second.new_units == {"fire": 0.7, "tax": 0.3}
    # ...and what it cannot: the earlier ticket's state; nor the contact and the address, which
    # the set's author chose to change in follow-ups.
    assert (first.earlier_answered, first.same_phone, first.same_address) == (None, None, None)
    for name in ("earlier_answered", "same_phone", "same_address"):
        assert np.isnan(pairs[0].row[FEATURES.index(name)])
    rows = [row for row, _ in labelled_rows(path, _Reader(texts))]
    assert np.array_equal(rows, [p.row for p in pairs], equal_nan=True)
    path.write_text("cases: [{id: 1}]", encoding="utf-8")
    with pytest.raises(ClassifierError, match="not a labelled set"):
        labelled_pairs(path, _Reader(texts))


def test_units_overlap_by_the_belief_two_texts_share() -> None:
    assert top_units({"a": 0.1, "b": 0.5, "c": 0.3, "d": 0.05}) == {"b": 0.5, "c": 0.3, "a": 0.1}
    assert unit_overlap({"tax": 0.6, "hrss": 0.3}, {"tax": 0.5, "hrss": 0.4}) == pytest.approx(0.8)
    assert unit_overlap({"tax": 0.9}, {"fire": 0.9}) == 0.0
    assert unit_overlap({"tax": 0.9}, {}) == 0.0  # an earlier ticket routing never read


def test_a_fact_weighs_only_by_the_pairs_that_tell_it() -> None:
    rng = np.random.default_rng(4)
    repeat = rng.random(400) < 0.4
    told = np.where(repeat, 0.8, 0.2) + 0.3 * rng.standard_normal(400)
    # The first column tells the target; the second only where the pairs know it (half of
    # them), the third nowhere: fitting must not fail, and it learns nothing from the third.
    second = np.where(np.arange(400) < 200, repeat.astype(float), np.nan)
    rows = [[a, b, float("nan")] for a, b in zip(told, second, strict=True)]
    scorer = fit(rows, list(repeat), [1.0] * 400)
    assert scorer.coef[0] > 0.5 and scorer.coef[1] > 0.5 and scorer.coef[2] == 0.0
    assert scorer.mean[1] == pytest.approx(repeat[:200].mean())
    # At scoring, an unknown fact counts as its mean: the score leans neither way on it.
    known, unknown = scorer.score([[0.5, 1.0, 1.0], [0.5, float("nan"), 1.0]])
    assert known > unknown and not np.isnan(unknown)


def test_confirmed_pairs_read_what_intake_knew(tmp_path: Path) -> None:
    texts = {"出口退税一直没到账": ([1.0, 0.0], 0), "退税的事还没下文": ([0.9, 0.1], 0)}
    row = {
        "kind": "repeat", "text": "退税的事还没下文", "earlier_text": "出口退税一直没到账",
        "repeat": True, "gap_days": 12.5, "earlier_answered": True, "same_phone": False,
        "same_address": True, "shared": ["上海甲公司"],
    }  # fmt: skip
    path = tmp_path / "repeats.jsonl"
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    ((features_, repeat),) = confirmed_rows(path, _Reader(texts))
    assert repeat is True
    named = dict(zip(FEATURES, features_, strict=True))
    assert named["earlier_answered"] == 1.0 and named["same_address"] == 1.0
    assert named["unit_overlap"] == pytest.approx(1.0)
    path.write_text(json.dumps({"kind": "repeat", "text": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(ClassifierError, match="lacks a field"):
        confirmed_rows(path, _Reader({"x": ([1.0, 0.0], 0)}))


def test_every_labelled_set_weighs_the_same_whatever_its_size() -> None:
    weights = balanced(["big"] * 6 + ["small"] * 2)
    assert sum(weights[:6]) == pytest.approx(sum(weights[6:]))
    assert np.mean(weights) == pytest.approx(1.0)
    assert balanced(["one"] * 3) == [1.0, 1.0, 1.0]
