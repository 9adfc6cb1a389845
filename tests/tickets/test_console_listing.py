"""The console's listings: statuses, search, lead unit, lights, sorting and workbench counts."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col

from core.db import session_scope
from models import Deadline, DeadlineStatus, Role, Stage, utcnow
from tests.conftest import MakeUser, credit_code, ticket_payload

START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


class Desk:
    """A handful of tickets at known stages, and the people who see them."""

    def __init__(self, client: TestClient, make_user: MakeUser, engine: Engine) -> None:
        self.client, self.engine = client, engine
        self.desk = make_user(Role.OPERATOR)
        self.market = make_user(Role.UNIT_HANDLER, "market_regulation")
        self.hrss = make_user(Role.UNIT_HANDLER, "hrss")
        self.ids: list[int] = []
        texts = [
            ("营业执照变更办理缓慢", "变更登记提交两周未办结", "上海ACME精密机械有限公司"),
            ("稳岗补贴咨询", "咨询稳岗补贴申报材料", "上海清源环保有限公司"),
            ("食品经营许可证延续", "许可证延续超时 100% 影响营业", "上海新域餐饮有限公司"),
            ("路灯不亮", "园区路灯不亮存在安全隐患", "上海博远电子有限公司"),
            ("员工工资拖欠", "外包方拖欠工资请求协调", "上海汇丰达物流有限公司"),
        ]
        for n, (title, text, name) in enumerate(texts):
            body = ticket_payload(
                n,
                title=title,
                text=text,
                enterprise={"credit_code": credit_code(n), "name": name},
                received_at=(START + timedelta(hours=n)).isoformat(),
                channel="app" if n == 1 else "hotline",
                appeal_type="consultation" if n == 1 else "complaint",
                urgency="urgent" if n == 4 else "normal",
            )
            response = client.post("/api/v1/tickets", json=body, headers=self.desk)
            assert response.status_code == 201, response.text
            self.ids.append(response.json()["id"])
        a, b, c, _d, e = self.ids
        # a: market leads with anting assisting, acknowledged; b: hrss, dispatched;
        # c: market, dispatched; d: triage; e: hrss leads, market assists, dispatched.
        self.act(a, "dispatch", self.desk, lead_unit="market_regulation", assist_units=["anting"])
        self.act(a, "acknowledge", self.market)
        self.act(b, "dispatch", self.desk, lead_unit="hrss")
        self.act(c, "dispatch", self.desk, lead_unit="market_regulation")
        self.act(e, "dispatch", self.desk, lead_unit="hrss", assist_units=["market_regulation"])

    def act(self, ticket_id: int, action: str, who: dict[str, str], **body: Any) -> Any:
        url = f"/api/v1/tickets/{ticket_id}/{action}"
        response = self.client.post(url, json=body or None, headers=who)
        assert response.status_code == 200, response.text
        return response.json()

    def found(self, query: str, who: dict[str, str] | None = None) -> list[int]:
        response = self.client.get(f"/api/v1/tickets?{query}", headers=who or self.desk)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["count"] == len(page["items"])
        return [t["id"] for t in page["items"]]

    def set_clock(self, ticket_id: int, stage: Stage, status: DeadlineStatus) -> None:
        """Move a deadline on as the sweep would (the row is the timer)."""
        now = utcnow()
        values: dict[str, Any] = {"status": status}
        if status == DeadlineStatus.WARNED:
            values["warned_at"] = now
        if status == DeadlineStatus.BREACHED:
            values["warned_at"], values["breached_at"] = now, now
        with session_scope(self.engine, write=True) as session:
            session.execute(
                update(Deadline)
                .where(col(Deadline.ticket_id) == ticket_id, col(Deadline.stage) == stage)
                .values(**values)
            )


@pytest.fixture
def desk(client: TestClient, make_user: MakeUser, engine: Engine) -> Desk:
    return Desk(client, make_user, engine)


def test_status_repeats(desk: Desk) -> None:
    a, b, c, d, e = desk.ids
    assert sorted(desk.found("status=dispatched&status=acknowledged")) == [a, b, c, e]
    assert desk.found("status=triage&status=triage") == [d]
    assert sorted(desk.found("status=dispatched&status=reopened")) == [b, c, e]


def test_search_covers_title_text_enterprise_name_and_code(desk: Desk) -> None:
    a, b, c, d, e = desk.ids
    assert desk.found("q=稳岗") == [b]  # title and text
    assert desk.found("q=安全隐患") == [d]  # text only
    assert desk.found("q=acme") == [a]  # the enterprise's name, case-insensitive
    assert desk.found(f"q={credit_code(4)[-8:].lower()}") == [e]  # part of the credit code
    assert desk.found("q=100%25") == [c]  # % is a character, not a wildcard
    assert desk.found("q=_") == []
    assert len(desk.found("q=%20%20")) == 5  # blank: no search


def test_lead_unit_differs_from_assigned_unit(desk: Desk) -> None:
    a, _b, c, _d, e = desk.ids
    assert sorted(desk.found("lead_unit=market_regulation")) == [a, c]
    assert sorted(desk.found("unit=market_regulation")) == [a, c, e]
    assert desk.found("lead_unit=anting") == [] and desk.found("unit=anting") == [a]
    # A unit handler's listing is still limited to what it may see.
    assert desk.found("lead_unit=hrss", desk.market) == [e]


def test_appeal_type_channel_and_urgency(desk: Desk) -> None:
    _a, b, _c, d, e = desk.ids
    assert desk.found("appeal_type=consultation") == [b]
    assert desk.found("channel=app") == [b]
    assert desk.found("urgency=urgent") == [e]
    assert desk.found("appeal_type=complaint&urgency=normal&status=triage") == [d]


def test_lights_next_deadlines_and_their_filters_agree(desk: Desk) -> None:
    a, b, c, d, e = desk.ids
    desk.set_clock(b, Stage.ACKNOWLEDGE, DeadlineStatus.WARNED)
    desk.set_clock(c, Stage.ACKNOWLEDGE, DeadlineStatus.BREACHED)
    desk.set_clock(e, Stage.CONTACT, DeadlineStatus.WARNED)
    desk.set_clock(e, Stage.REPLY, DeadlineStatus.BREACHED)  # red wins over yellow
    page = desk.client.get("/api/v1/tickets?limit=200", headers=desk.desk).json()["items"]
    by_id = {t["id"]: t for t in page}
    assert {i: by_id[i]["light"] for i in desk.ids} == {
        a: "green",
        b: "yellow",
        c: "red",
        d: None,
        e: "red",
    }
    for ticket in page:
        assert ticket["overdue"] == (ticket["light"] == "red")
    assert sorted(desk.found("light=red")) == sorted(desk.found("overdue=true")) == [c, e]
    assert desk.found("light=yellow") == [b]
    assert desk.found("light=green") == [a]
    assert sorted(desk.found("overdue=false")) == [a, b, d]
    # a is acknowledged: its next deadline is 先行联系, not the met 签收 nor the 退单 window.
    assert by_id[a]["next_deadline"]["stage"] == "contact"
    assert by_id[b]["next_deadline"]["stage"] == "acknowledge"
    assert by_id[b]["next_deadline"]["status"] == "warned"
    assert by_id[c]["next_deadline"]["status"] == "breached"
    assert by_id[d]["next_deadline"] is None
    for ticket in page:
        open_ = [
            x
            for x in ticket["deadlines"]
            if x["stage"] != "return_window"
            and (
                x["status"] in ("pending", "warned")
                or (x["status"] == "breached" and not x["met_at"])
            )
        ]
        if open_:
            first = min(open_, key=lambda x: x["due_at"])
            assert ticket["next_deadline"] == first
    one = desk.client.get(f"/api/v1/tickets/{c}", headers=desk.desk).json()
    assert one["light"] == "red" and one["next_deadline"] == by_id[c]["next_deadline"]


def test_sorting(desk: Desk) -> None:
    a, b, c, d, e = desk.ids
    assert desk.found("") == [e, d, c, b, a]  # newest first, as before
    assert desk.found("sort=received_at") == [a, b, c, d, e]
    assert desk.found("sort=-id") == [e, d, c, b, a] and desk.found("sort=id") == desk.ids
    page = desk.client.get("/api/v1/tickets?sort=due_at", headers=desk.desk).json()["items"]
    due = [t["next_deadline"]["due_at"] if t["next_deadline"] else None for t in page]
    assert due[-1] is None and page[-1]["id"] == d  # no open deadline: last
    assert due[:-1] == sorted(due[:-1])  # type: ignore[type-var]
    # e is urgent: its clock-hour 签收 deadline falls due first.
    assert page[0]["id"] == e
    back = desk.client.get("/api/v1/tickets?sort=-due_at", headers=desk.desk).json()["items"]
    due = [t["next_deadline"]["due_at"] if t["next_deadline"] else None for t in back]
    assert back[-1]["id"] == d and due[:-1] == sorted(due[:-1], reverse=True)  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("status=bogus", "status"),
        ("status=triage&status=bogus", "status"),
        ("light=purple", "light"),
        ("sort=fastest", "sort"),
        ("appeal_type=rant", "appeal_type"),
        ("channel=pigeon", "channel"),
        ("urgency=yesterday", "urgency"),
    ],
)
def test_unknown_values_are_422_naming_the_parameter(
    client: TestClient, operator: dict[str, str], query: str, parameter: str
) -> None:
    response = client.get(f"/api/v1/tickets?{query}", headers=operator)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request" and body["field"].split(".")[0] == parameter
    assert any(err["loc"][:2] == ["query", parameter] for err in body["errors"]), body


@pytest.mark.parametrize("parameter", ["unit", "lead_unit", "subdistrict"])
def test_unknown_unit_codes_are_422_naming_the_parameter(
    client: TestClient, operator: dict[str, str], parameter: str
) -> None:
    response = client.get(f"/api/v1/tickets?{parameter}=atlantis", headers=operator)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input" and body["field"] == parameter
    assert "atlantis" not in body["detail"] and "不存在" in body["detail"]  # input not echoed


def test_workbench_counts_match_the_tabs_lists(desk: Desk) -> None:
    a, _b, c, _d, e = desk.ids
    desk.set_clock(c, Stage.ACKNOWLEDGE, DeadlineStatus.BREACHED)
    desk.set_clock(e, Stage.ACKNOWLEDGE, DeadlineStatus.WARNED)
    desk.act(a, "contact", desk.market, note="已电话联系")
    desk.act(a, "reply", desk.market, content="已办结")
    counts = desk.client.get("/api/v1/workbench/counts", headers=desk.market).json()
    assert counts == {"to_acknowledge": 1, "in_progress": 0, "warned": 1, "overdue": 1, "done": 1}
    tabs = {
        "to_acknowledge": "lead_unit=U&status=dispatched&status=reopened",
        "in_progress": "lead_unit=U&status=acknowledged&status=contacted",
        "warned": "unit=U&light=yellow",
        "overdue": "unit=U&light=red",
        "done": "lead_unit=U&status=replied&status=verified&status=closed",
    }
    for name, query in tabs.items():
        listed = desk.found(query.replace("U", "market_regulation"), desk.market)
        assert len(listed) == counts[name], name
    hrss = desk.client.get("/api/v1/workbench/counts", headers=desk.hrss).json()
    assert hrss == {"to_acknowledge": 2, "in_progress": 0, "warned": 1, "overdue": 0, "done": 0}
    # The desk sees every unit's, or one unit's when it asks.
    everyone = desk.client.get("/api/v1/workbench/counts", headers=desk.desk).json()
    assert everyone == {"to_acknowledge": 3, "in_progress": 0, "warned": 1, "overdue": 1, "done": 1}
    url = "/api/v1/workbench/counts?unit=market_regulation"
    assert desk.client.get(url, headers=desk.desk).json() == counts
    refused = desk.client.get("/api/v1/workbench/counts?unit=hrss", headers=desk.market)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    unknown = desk.client.get("/api/v1/workbench/counts?unit=atlantis", headers=desk.desk)
    assert unknown.status_code == 422 and unknown.json()["field"] == "unit"


def test_workbench_counts_need_a_signed_in_user(client: TestClient) -> None:
    response = client.get("/api/v1/workbench/counts")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
