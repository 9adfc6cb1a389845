"""Reverse evaluations over HTTP: periods, who may score whom, freezing, visibility, to-do."""

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from core.db import session_scope
from core.timezone import SHANGHAI
from evaluations import service
from models import Role, utcnow
from tests.conftest import MakeUser, row_count, ticket_payload

MONTH = utcnow().astimezone(SHANGHAI).strftime("%Y-%m")


class People:
    def __init__(self, client: TestClient, make_user: MakeUser) -> None:
        self.client = client
        self.supervisor = make_user(Role.SUPERVISOR)
        self.desk = make_user(Role.OPERATOR)
        self.anting = make_user(Role.SUBDISTRICT, "anting")
        self.malu = make_user(Role.SUBDISTRICT, "malu")
        self.market = make_user(Role.UNIT_HANDLER, "market_regulation")
        self.hrss = make_user(Role.UNIT_HANDLER, "hrss")
        self.tickets: list[int] = []

    def post(self, path: str, who: dict[str, str], body: Any = None, expect: int = 201) -> Any:
        response = self.client.post(f"/api/v1/{path}", json=body, headers=who)
        assert response.status_code == expect, response.text
        return response.json()

    def evaluate(self, who: dict[str, str], expect: int = 201, **fields: Any) -> Any:
        body = {"period": MONTH, "unit": "market_regulation", "timeliness": 4}
        body |= {"effectiveness": 3, "cooperation": 5, **fields}
        return self.post("evaluations", who, body, expect)


@pytest.fixture
def people(client: TestClient, make_user: MakeUser) -> People:
    people = People(client, make_user)
    people.post("evaluation-periods", people.supervisor, {"period": MONTH})
    # A 街镇 evaluates only departments it worked with: anting and malu assist market_regulation
    # on one ticket, anting assists hrss on another.
    people.tickets = []
    for n, (lead, assists) in enumerate(
        (("market_regulation", ["anting", "malu"]), ("hrss", ["anting"])), start=1
    ):
        body = ticket_payload(n, text=f"第{n}件：请尽快办理相关手续。")
        ticket = people.post("tickets", people.desk, body)
        people.post(
            f"tickets/{ticket['id']}/dispatch",
            people.desk,
            {"lead_unit": lead, "assist_units": assists},
            expect=200,
        )
        people.tickets.append(ticket["id"])
    return people


def test_periods_are_months_opened_once_by_supervisors(people: People) -> None:
    listed = people.client.get("/api/v1/evaluation-periods", headers=people.anting).json()
    assert listed[0]["period"] == MONTH and listed[0]["status"] == "open"
    assert listed[0]["starts"].endswith("-01")
    people.post("evaluation-periods", people.supervisor, {"period": MONTH}, 409)
    people.post("evaluation-periods", people.supervisor, {"period": "2026-13"}, 422)
    people.post("evaluation-periods", people.anting, {"period": "2026-01"}, 403)
    quarter = {"period": "2026Q4", "starts": "2026-10-01", "ends": "2026-12-31"}
    assert people.post("evaluation-periods", people.supervisor, quarter)["ends"] == "2026-12-31"


def test_a_subdistrict_scores_a_line_department_once(people: People, engine: Engine) -> None:
    first, second = people.tickets
    made = people.evaluate(people.anting, comment="报到及时", ticket_ids=[second, second, first])
    assert made["subdistrict"] == "anting" and made["ticket_ids"] == sorted([first, second])
    duplicate = people.evaluate(people.anting, expect=409)
    assert "请修改原评价" in duplicate["detail"]
    assert people.evaluate(people.malu)["subdistrict"] == "malu"
    assert row_count(engine, "evaluation") == 2


@pytest.mark.parametrize(
    ("fields", "who", "status", "says"),
    [
        ({"timeliness": 6}, "anting", 422, "timeliness"),
        ({"cooperation": 0}, "anting", 422, "cooperation"),
        ({"unit": "malu"}, "anting", 422, "只评价职能部门"),
        ({"unit": "business_office"}, "anting", 422, "只评价职能部门"),
        ({"unit": "power_supply"}, "anting", 422, "只评价职能部门"),
        ({"unit": "nope"}, "anting", 422, "没有该代码的单位"),
        ({"period": "2020-01"}, "anting", 404, "没有该名称的评价期"),
        ({}, "market", 403, "只有街镇用户"),
        ({}, "desk", 403, "只有街镇用户"),
    ],
)
def test_wrong_evaluations_are_refused_and_write_nothing(
    people: People, engine: Engine, fields: dict[str, Any], who: str, status: int, says: str
) -> None:
    refused = people.evaluate(getattr(people, who), expect=status, **fields)
    assert says in str(refused)
    assert row_count(engine, "evaluation") == 0


def test_edits_until_the_period_closes(people: People) -> None:
    made = people.evaluate(people.anting)
    path = f"/api/v1/evaluations/{made['id']}"
    edited = people.client.patch(path, json={"timeliness": 2}, headers=people.anting)
    assert edited.status_code == 200 and edited.json()["timeliness"] == 2
    assert edited.json()["cooperation"] == 5
    assert (
        people.client.patch(path, json={"timeliness": 9}, headers=people.anting).status_code == 422
    )
    assert people.client.patch(path, json={"timeliness": 1}, headers=people.malu).status_code == 404
    people.post(f"evaluation-periods/{MONTH}/close", people.supervisor, expect=200)
    frozen = people.client.patch(path, json={"timeliness": 5}, headers=people.anting)
    assert frozen.status_code == 409 and "已关闭" in frozen.json()["detail"]
    people.evaluate(people.malu, expect=409)
    people.post(f"evaluation-periods/{MONTH}/close", people.supervisor, expect=409)


def test_departments_read_what_was_said_not_who_said_it(people: People) -> None:
    people.evaluate(people.anting, comment="响应很快")
    people.evaluate(people.anting, unit="hrss")

    def seen(who: dict[str, str]) -> list[dict[str, Any]]:
        response = people.client.get(f"/api/v1/evaluations?period={MONTH}", headers=who)
        assert response.status_code == 200, response.text
        return list(response.json())

    # One evaluation would name its 街镇: a department reads them from three on
    # (tests/evaluations/test_anonymity.py).
    assert seen(people.market) == [] and seen(people.hrss) == []
    assert {e["subdistrict"] for e in seen(people.supervisor)} == {"anting"}
    assert len(seen(people.anting)) == 2 and seen(people.malu) == []
    response = people.client.get("/api/v1/evaluations", headers=people.desk)
    assert response.status_code == 403


def test_todo_lists_the_departments_a_subdistrict_worked_with(
    people: People, client: TestClient
) -> None:
    first, second = people.tickets  # market_regulation leads the first, hrss the second
    todo = client.get(f"/api/v1/evaluations/todo?period={MONTH}", headers=people.anting).json()
    market = {"unit": "market_regulation", "ticket_ids": [first], "whistle_ids": []}
    hrss = {"unit": "hrss", "ticket_ids": [second], "whistle_ids": []}
    assert todo == [{**hrss, "evaluation_id": None}, {**market, "evaluation_id": None}]
    made = people.evaluate(people.anting, ticket_ids=[first])
    todo = client.get(f"/api/v1/evaluations/todo?period={MONTH}", headers=people.anting).json()
    assert todo[1]["evaluation_id"] == made["id"]
    malu = client.get(f"/api/v1/evaluations/todo?period={MONTH}", headers=people.malu).json()
    assert [item["unit"] for item in malu] == ["market_regulation"]
    assert (
        client.get(f"/api/v1/evaluations/todo?period={MONTH}", headers=people.hrss).status_code
        == 403
    )


def test_periods_open_and_close_on_schedule(engine: Engine) -> None:
    def roll(day: date) -> tuple[str | None, list[str]]:
        with session_scope(engine, write=True) as session:
            return service.roll_periods(session, today=day, grace_days=5)

    assert roll(date(2026, 11, 20)) == ("2026-11", [])
    assert roll(date(2026, 12, 3)) == ("2026-12", [])  # November's evaluations still open
    assert roll(date(2026, 12, 6)) == (None, ["2026-11"])
    assert roll(date(2026, 12, 7)) == (None, [])
