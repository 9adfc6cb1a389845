"""Findings 3 and 9: who reads a ticket is decided by current assignments; contacts are masked."""

from fastapi.testclient import TestClient

from models import Role
from tests.conftest import MakeUser
from tests.tickets.conftest import Loop


def _listed(client: TestClient, who: dict[str, str], ticket_id: int) -> tuple[int, bool]:
    page = client.get("/api/v1/tickets", headers=who).json()
    return page["count"], any(item["id"] == ticket_id for item in page["items"])


def test_a_returned_lead_and_a_cancelled_assist_lose_the_ticket(
    loop: Loop, make_user: MakeUser
) -> None:
    malu = make_user(Role.SUBDISTRICT, "malu")
    loop.act("dispatch", loop.desk, {"lead_unit": "market_regulation", "assist_units": ["malu"]})
    assert loop.client.get(f"/api/v1/tickets/{loop.id}", headers=malu).status_code == 200
    loop.act("return", loop.market, {"reason": "不属于本单位职责"})
    loop.act("dispatch", loop.desk, {"lead_unit": "hrss"})
    loop.act("acknowledge", loop.hrss)
    for former in (loop.market, malu):
        ticket = loop.client.get(f"/api/v1/tickets/{loop.id}", headers=former)
        assert ticket.status_code == 404, ticket.text
        events = loop.client.get(f"/api/v1/tickets/{loop.id}/events", headers=former)
        assert events.status_code == 404
        assert _listed(loop.client, former, loop.id) == (0, False)
    assert loop.client.get(f"/api/v1/tickets/{loop.id}", headers=loop.hrss).status_code == 200
    assert _listed(loop.client, loop.hrss, loop.id) == (1, True)


def test_a_closed_ticket_stays_with_its_lead(loop: Loop) -> None:
    loop.to_replied()
    loop.act("callback", loop.desk, {"satisfaction": "satisfied"})
    loop.act("close", loop.desk)
    assert loop.client.get(f"/api/v1/tickets/{loop.id}", headers=loop.market).status_code == 200


def test_contacts_are_masked_except_for_the_lead_unit_and_the_desk(loop: Loop) -> None:
    loop.dispatch()  # market_regulation leads, anting assists (and it is anting's area)

    def contact(who: dict[str, str]) -> dict[str, str]:
        response = loop.client.get(f"/api/v1/tickets/{loop.id}", headers=who)
        assert response.status_code == 200, response.text
        return response.json()["contact"]

    full = {"name": "李女士", "phone": "13900000001"}
    assert contact(loop.desk) == full
    assert contact(loop.supervisor) == full
    assert contact(loop.market) == full
    assert contact(loop.anting) == {"name": "李**", "phone": "139****0001"}
    listed = loop.client.get("/api/v1/tickets", headers=loop.anting).json()["items"]
    assert listed[0]["contact"] == {"name": "李**", "phone": "139****0001"}
    acted = loop.act("acknowledge", loop.market)
    assert acted["contact"] == full
