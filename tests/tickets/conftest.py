"""The ticket tests' shared helper: one ticket and the people who move it around the loop."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from models import Role
from tests.conftest import MakeUser, ticket_payload


class Loop:
    """A ticket and the people who move it."""

    def __init__(self, client: TestClient, make_user: MakeUser) -> None:
        self.client = client
        self.desk = make_user(Role.OPERATOR)
        self.supervisor = make_user(Role.SUPERVISOR)
        self.market = make_user(Role.UNIT_HANDLER, "market_regulation")
        self.hrss = make_user(Role.UNIT_HANDLER, "hrss")
        self.anting = make_user(Role.SUBDISTRICT, "anting")
        response = client.post("/api/v1/tickets", json=ticket_payload(), headers=self.desk)
        self.id = response.json()["id"]

    def act(self, action: str, who: dict[str, str], body: Any = None, expect: int = 200) -> Any:
        response = self.client.post(f"/api/v1/tickets/{self.id}/{action}", json=body, headers=who)
        assert response.status_code == expect, response.text
        return response.json()

    def dispatch(self) -> Any:
        body = {"lead_unit": "market_regulation", "assist_units": ["anting"]}
        return self.act("dispatch", self.desk, body)

    def to_replied(self) -> Any:
        self.dispatch()
        self.act("acknowledge", self.market)
        self.act("contact", self.market, {"note": "已电话联系企业"})
        return self.act("reply", self.market, {"content": "已办结变更登记"})

    def events(self) -> list[str]:
        response = self.client.get(f"/api/v1/tickets/{self.id}/events", headers=self.supervisor)
        return [event["action"] for event in response.json()]


@pytest.fixture
def loop(client: TestClient, make_user: MakeUser) -> Loop:
    return Loop(client, make_user)
