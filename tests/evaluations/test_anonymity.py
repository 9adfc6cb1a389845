"""Findings 2, 10: no path from an evaluation to its 街镇; 街镇 evaluate whom they worked with."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from models import Role
from tests.conftest import MakeUser, ticket_payload
from tests.evaluations.test_evaluations import MONTH

AREAS = ("anting", "malu", "nanxiang")
ADDRESSES = {
    "anting": "嘉定区安亭镇墨玉路185号",
    "malu": "嘉定区马陆镇",
    "nanxiang": "嘉定区南翔镇",
}


class Town:
    def __init__(self, client: TestClient, make_user: MakeUser) -> None:
        self.client = client
        self.supervisor = make_user(Role.SUPERVISOR)
        self.desk = make_user(Role.OPERATOR)
        self.market = make_user(Role.UNIT_HANDLER, "market_regulation")
        self.areas = {code: make_user(Role.SUBDISTRICT, code) for code in AREAS}
        client.post("/api/v1/evaluation-periods", json={"period": MONTH}, headers=self.supervisor)
        self.tickets: dict[str, int] = {}
        for n, code in enumerate(AREAS, start=1):  # each 街镇 assists market_regulation once
            text = f"第{n}件：营业执照变更迟迟未办结，请尽快处理。"
            body = ticket_payload(n, text=text, address=f"{ADDRESSES[code]}{n}号")
            ticket = client.post("/api/v1/tickets", json=body, headers=self.desk).json()
            dispatch = {"lead_unit": "market_regulation", "assist_units": [code]}
            client.post(
                f"/api/v1/tickets/{ticket['id']}/dispatch", json=dispatch, headers=self.desk
            )
            self.tickets[code] = ticket["id"]

    def evaluate(self, code: str, expect: int = 201, **fields: Any) -> Any:
        body = {"period": MONTH, "unit": "market_regulation", "timeliness": 4}
        body |= {"effectiveness": 3, "cooperation": 5, **fields}
        response = self.client.post("/api/v1/evaluations", json=body, headers=self.areas[code])
        assert response.status_code == expect, response.text
        return response.json()

    def seen_by_market(self) -> list[dict[str, Any]]:
        response = self.client.get(f"/api/v1/evaluations?period={MONTH}", headers=self.market)
        assert response.status_code == 200, response.text
        return list(response.json())


@pytest.fixture
def town(client: TestClient, make_user: MakeUser) -> Town:
    return Town(client, make_user)


def test_a_department_sees_nothing_until_three_evaluations(town: Town) -> None:
    town.evaluate("anting", comment="很快", ticket_ids=[town.tickets["anting"]])
    assert town.seen_by_market() == []
    summary = town.client.get(
        f"/api/v1/evaluations/summary?period={MONTH}", headers=town.market
    ).json()
    assert summary["enough"] is False and summary["note"] == "评价数不足"
    assert summary["timeliness"] is None and summary["evaluations"] == 1
    ranking = town.client.get(f"/api/v1/rankings?period={MONTH}", headers=town.market).json()
    assert ranking[0]["timeliness"] is None and ranking[0]["evaluation_note"] == "评价数不足"


def test_three_evaluations_are_shown_without_any_path_to_their_authors(town: Town) -> None:
    for code, score in zip(AREAS, (5, 3, 1), strict=True):
        town.evaluate(
            code, timeliness=score, comment=f"意见{score}", ticket_ids=[town.tickets[code]]
        )
    seen = town.seen_by_market()
    assert len(seen) == 3
    for row in seen:
        assert row["subdistrict"] is None and row["ticket_ids"] == [] and row["whistle_ids"] == []
        assert row["timeliness"] is None and row["id"] is None and row["created_at"] is None
    summary = town.client.get(
        f"/api/v1/evaluations/summary?period={MONTH}", headers=town.market
    ).json()
    assert summary["enough"] is True and summary["timeliness"] == 3.0
    ranking = town.client.get(f"/api/v1/rankings?period={MONTH}", headers=town.market).json()
    assert ranking[0]["timeliness"] == 3.0 and ranking[0]["evaluation_note"] is None
    other = town.client.get(
        f"/api/v1/evaluations/summary?period={MONTH}&unit=hrss", headers=town.market
    )
    assert other.status_code == 403


def test_only_departments_worked_with_may_be_evaluated(town: Town) -> None:
    refused = town.evaluate("anting", expect=422, unit="hrss")
    assert refused["field"] == "unit"
    assert town.evaluate("anting")["unit"] == "market_regulation"


def test_links_only_to_what_the_subdistrict_may_see(town: Town) -> None:
    refused = town.evaluate("anting", expect=422, ticket_ids=[town.tickets["malu"]])
    assert refused["field"] == "ticket_ids"
    whistle = town.client.post(
        "/api/v1/whistles",
        json={"units": ["market_regulation"], "text": "请协助核查"},
        headers=town.areas["malu"],
    ).json()
    refused = town.evaluate("anting", expect=422, whistle_ids=[whistle["id"]])
    assert refused["field"] == "whistle_ids"
    made = town.evaluate("anting", ticket_ids=[town.tickets["anting"]])
    patched = town.client.patch(
        f"/api/v1/evaluations/{made['id']}",
        json={"ticket_ids": [town.tickets["nanxiang"]]},
        headers=town.areas["anting"],
    )
    assert patched.status_code == 422 and patched.json()["field"] == "ticket_ids"


def test_a_whistle_links_only_visible_tickets(town: Town) -> None:
    refused = town.client.post(
        "/api/v1/whistles",
        json={
            "units": ["market_regulation"],
            "text": "请协助",
            "ticket_ids": [town.tickets["malu"]],
        },
        headers=town.areas["anting"],
    )
    assert refused.status_code == 422 and refused.json()["field"] == "ticket_ids"
