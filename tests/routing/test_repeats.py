"""The repeat check hands the pair scorer what intake knows of each earlier ticket."""

from datetime import UTC, datetime
from math import log1p

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from classifier.repeat_scorer import FEATURES, RepeatScorer
from core.phones import phone_key
from routing import repeats
from routing import service as routing_service
from routing.model import ServingModel
from routing.settings import RoutingSettings
from tests.conftest import MakeUser, credit_code
from tests.routing.conftest import appeal
from tests.routing.test_routed_intake import LICENCE, close_loop, post

AGAIN = "执照变更的事到现在还没办好，材料都交齐了。"


class Spy(RepeatScorer):
    """A scorer of no weight that keeps the rows it was asked to score."""

    def __init__(self) -> None:
        n = len(FEATURES)
        super().__init__([0.0] * n, 0.0, [0.0] * n, [1.0] * n)
        self.rows: list[list[float]] = []

    def score(self, rows: list[list[float]]) -> np.ndarray:
        self.rows += rows
        return super().score(rows)


def _find(
    engine: Engine, at: datetime, serving: ServingModel, *, code: str, phone: str, address: str
) -> tuple[repeats.Scored, Spy]:
    """The repeat check of the follow-up AGAIN from this enterprise, phone and address."""
    settings = RoutingSettings()
    reading = routing_service.read(
        routing_service.Appeal(text=AGAIN, address="", at=at), settings=settings, serving=serving
    )
    assert reading.analysis is not None
    spy = Spy()
    with Session(engine) as session:
        found = repeats.find(
            session,
            appeal=repeats.NewAppeal(
                text=AGAIN,
                vector=reading.analysis.embedding,
                probabilities=reading.analysis.probabilities,
                enterprise_code=code,
                phone=phone,
                address=address,
                at=at,
            ),
            scorer=spy,
            scorer_failure=None,
            settings=settings,
        )
    return found, spy


def _facts(engine: Engine, at: datetime, serving: ServingModel) -> dict[str, float]:
    """What the scorer is told of the one earlier ticket, for a follow-up from another phone."""
    found, spy = _find(
        engine, at, serving, code=credit_code(1), phone="13900009999",
        address="嘉定区安亭镇墨玉路185号",
    )  # fmt: skip
    assert len(found.weighed) == 1 and len(spy.rows) == 1
    return dict(zip(FEATURES, spy.rows[0], strict=True))


def test_the_scorer_reads_the_gap_the_state_the_contact_and_the_units(
    routed: TestClient, operator: dict[str, str], engine: Engine, make_user: MakeUser
) -> None:
    first = post(routed, operator, appeal(1, LICENCE))  # 2026-11-02 09:30 UTC
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    served = routed.app.state.serving_model  # type: ignore[attr-defined]
    open_ = _facts(engine, at, served)
    assert open_["log_gap_days"] == pytest.approx(log1p(18))
    assert (open_["earlier_answered"], open_["same_phone"], open_["same_address"]) == (0, 0, 1)
    assert 0 < open_["unit_overlap"] <= 1  # both read as licensing matters, much alike
    close_loop(routed, first["id"], operator, make_user)
    assert _facts(engine, at, served)["earlier_answered"] == 1.0


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("13900001234", "13900001234"),
        ("139-0000-1234", "13900001234"),
        ("139 0000 1234", "13900001234"),
        ("+86 139 0000 1234", "13900001234"),
        ("+86-13900001234", "13900001234"),
        ("008613900001234", "13900001234"),
        ("021-5999 1234", "2159991234"),
        ("+86 21 5999 1234", "2159991234"),
        ("5999-1234", "59991234"),
        ("139****1234", ""),  # masked: it must match nothing
        ("", ""),
        ("123", ""),
    ],
)
def test_a_phone_has_one_key_however_it_is_written(written: str, key: str) -> None:
    assert phone_key(written) == key


def test_the_same_phone_written_another_way_finds_the_earlier_ticket(
    routed: TestClient, operator: dict[str, str], engine: Engine
) -> None:
    # Another enterprise and another address: only the phone can find it.
    contact = {"name": "李女士", "phone": "+86 139-0000-1234"}
    post(routed, operator, appeal(1, LICENCE, contact=contact))
    served = routed.app.state.serving_model  # type: ignore[attr-defined]
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    for phone, found in (("13900001234", 1), ("139 0000 1234", 1), ("13900001235", 0)):
        scored, spy = _find(
            engine, at, served, code=credit_code(2), phone=phone, address="嘉定区南翔镇嘉美路100号"
        )
        assert len(scored.weighed) == found, phone
        if found:
            assert dict(zip(FEATURES, spy.rows[0], strict=True))["same_phone"] == 1.0
