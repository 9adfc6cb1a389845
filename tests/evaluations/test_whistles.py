"""街镇吹哨、部门报到 over HTTP: the flow, the refusals, who sees what, and the deadlines."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.scheduler import sweep
from deadlines.policy import load_policy
from models import Notification, Role, WhistleEvent, utcnow
from tests.conftest import MakeUser, row_count, ticket_payload


class Whistles:
    def __init__(self, client: TestClient, make_user: MakeUser) -> None:
        self.client = client
        self.anting = make_user(Role.SUBDISTRICT, "anting")
        self.malu = make_user(Role.SUBDISTRICT, "malu")
        self.market = make_user(Role.UNIT_HANDLER, "market_regulation")
        self.hrss = make_user(Role.UNIT_HANDLER, "hrss")
        self.tax = make_user(Role.UNIT_HANDLER, "tax")
        self.supervisor = make_user(Role.SUPERVISOR)
        self.desk = make_user(Role.OPERATOR)

    def post(self, path: str, who: dict[str, str], body: Any = None, expect: int = 200) -> Any:
        response = self.client.post(f"/api/v1/{path}", json=body, headers=who)
        assert response.status_code == expect, response.text
        return response.json()

    def blow(self, units: list[str] | None = None, expect: int = 201, **extra: Any) -> Any:
        body = {
            "units": units or ["market_regulation", "hrss"],
            "text": "园区企业用工纠纷需部门到场",
        }
        return self.post("whistles", self.anting, {**body, **extra}, expect)

    def listed(self, who: dict[str, str], query: str = "") -> list[int]:
        response = self.client.get(f"/api/v1/whistles{query}", headers=who)
        assert response.status_code == 200, response.text
        return [w["id"] for w in response.json()]


@pytest.fixture
def w(client: TestClient, make_user: MakeUser) -> Whistles:
    return Whistles(client, make_user)


def calls(whistle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["unit"]: c for c in whistle["calls"]}


def test_whistle_report_outcome_send_back_and_confirm(w: Whistles) -> None:
    ticket = w.post("tickets", w.desk, ticket_payload(), expect=201)
    whistle = w.blow(ticket_ids=[ticket["id"]])
    assert whistle["subdistrict"] == "anting" and whistle["ticket_ids"] == [ticket["id"]]
    assert whistle["status"] == "open" and whistle["escalation_level"] == 0
    for call in whistle["calls"]:
        assert call["state"] == "called" and call["deadline"]["stage"] == "report"
    wid = whistle["id"]

    plan = {"contact": "王科长 021-59990000", "plan": "明天上午到园区现场协调"}
    reported = calls(w.post(f"whistles/{wid}/report", w.market, plan))["market_regulation"]
    assert reported["state"] == "reported" and reported["contact"].startswith("王科长")
    assert reported["deadline"]["stage"] == "outcome"
    w.post(f"whistles/{wid}/report", w.market, plan, expect=409)  # reported already
    w.post(f"whistles/{wid}/outcome", w.market, {"content": "已现场调解"})
    sent_back = w.post(f"whistles/{wid}/reopen", w.anting, {"reason": "企业仍不满意"})
    market = calls(sent_back)["market_regulation"]
    assert market["state"] == "reported" and market["sent_back"] == 1
    assert market["deadline"]["stage"] == "outcome" and market["deadline"]["status"] == "pending"
    w.post(f"whistles/{wid}/outcome", w.market, {"content": "补充调解，达成一致"})
    w.post(f"whistles/{wid}/report", w.hrss, plan)
    w.post(f"whistles/{wid}/outcome", w.hrss, {"content": "已督促企业支付工资"})
    confirmed = w.post(f"whistles/{wid}/confirm", w.anting)
    assert confirmed["status"] == "confirmed"
    assert {c["state"] for c in confirmed["calls"]} == {"confirmed"}
    w.post(f"whistles/{wid}/confirm", w.anting, expect=409)  # nothing left to confirm


@pytest.mark.parametrize(
    ("who", "units", "status", "says"),
    [
        ("anting", ["malu"], 422, "吹哨只能呼叫职能部门"),
        ("anting", ["business_office"], 422, "吹哨只能呼叫职能部门"),
        ("anting", ["power_supply"], 422, "吹哨只能呼叫职能部门"),
        ("anting", ["nope"], 422, "没有该代码的在用单位"),
        ("market", ["hrss"], 403, "只有街镇用户"),
        ("desk", ["hrss"], 403, "只有街镇用户"),
    ],
)
def test_wrong_whistles_are_refused_and_write_nothing(
    w: Whistles, engine: Engine, who: str, units: list[str], status: int, says: str
) -> None:
    body = {"units": units, "text": "需要协调"}
    refused = w.post("whistles", getattr(w, who), body, expect=status)
    assert says in refused["detail"]
    assert row_count(engine, "whistle") == row_count(engine, "deadline") == 0


def test_only_the_called_department_reports_and_only_the_subdistrict_confirms(
    w: Whistles,
) -> None:
    wid = w.blow(["market_regulation"])["id"]
    plan = {"contact": "李", "plan": "到场"}
    w.post(f"whistles/{wid}/report", w.hrss, plan, expect=404)  # hrss was not called
    w.post(f"whistles/{wid}/report", w.market, {**plan, "unit": "hrss"}, expect=403)
    w.post(f"whistles/{wid}/report", w.supervisor, {**plan, "unit": "market_regulation"})
    w.post(f"whistles/{wid}/outcome", w.market, {"content": "已处理"})
    w.post(f"whistles/{wid}/confirm", w.malu, expect=404)
    w.post(f"whistles/{wid}/confirm", w.market, expect=403)
    w.post("whistles", w.anting, {"units": [], "text": "x"}, expect=422)


def test_who_sees_which_whistles(w: Whistles) -> None:
    first = w.blow(["market_regulation"])["id"]
    second = w.blow(["hrss"])["id"]
    assert w.listed(w.anting) == [second, first]
    assert w.listed(w.malu) == []
    assert w.listed(w.market) == [first] and w.listed(w.hrss) == [second]
    assert w.listed(w.supervisor, "?unit=hrss") == [second]
    assert w.listed(w.supervisor, "?status=confirmed") == []
    assert w.client.get("/api/v1/whistles?unit=hrss", headers=w.market).status_code == 403
    assert w.client.get(f"/api/v1/whistles/{second}", headers=w.market).status_code == 404
    assert w.client.get(f"/api/v1/whistles/{second}", headers=w.tax).status_code == 404


def test_a_whistle_listed_is_one_that_opens_and_the_other_way_round(w: Whistles) -> None:
    first = w.blow(["market_regulation"])["id"]
    for who in (w.anting, w.malu, w.market, w.hrss, w.tax, w.supervisor, w.desk):
        opens = w.client.get(f"/api/v1/whistles/{first}", headers=who).status_code == 200
        assert opens is (first in w.listed(who)), who


def test_report_deadlines_warn_breach_and_escalate_the_whistle(w: Whistles, engine: Engine) -> None:
    wid = w.blow()["id"]
    w.post(f"whistles/{wid}/report", w.market, {"contact": "王", "plan": "到场"})
    result = sweep(engine, policy=load_policy(), now=utcnow() + timedelta(days=60))
    # hrss never reported in; market reported but never gave its outcome.
    assert result.breached == 2
    whistle = w.client.get(f"/api/v1/whistles/{wid}", headers=w.supervisor).json()
    assert whistle["escalation_level"] == 2
    assert {c["deadline"]["status"] for c in whistle["calls"]} == {"breached"}
    with Session(engine) as session:
        events = session.exec(select(WhistleEvent).where(WhistleEvent.actor_name == "system"))
        assert sorted(e.unit_code or "" for e in events) == ["hrss", "market_regulation"]
        texts = session.exec(select(Notification.text).where(Notification.recipient == "unit:hrss"))
        assert any(f"吹哨 {wid}" in text and "报到" in text for text in texts)
    again = sweep(engine, policy=load_policy(), now=utcnow() + timedelta(days=61))
    assert again.breached == 0
