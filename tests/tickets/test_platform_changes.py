"""A pushed order's versions over HTTP: what each did, an unreadable state, a merged order."""

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Ticket, TicketEvent
from tests.conftest import row_count
from tests.integration.fake_platform import order, version
from tests.tickets.test_platform_inbound import connector_file, push

__all__ = ["connector_file"]  # the fixture, used by name


def _actions(engine: Engine, ticket_id: int) -> list[str]:
    with Session(engine) as session:
        events = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id))
        return [e.action for e in events]


def test_each_version_says_what_it_did_and_only_newer_ones_change_the_ticket(
    connector_file: Path, client: TestClient, engine: Engine
) -> None:
    first = push(client, order(1))
    assert (first.status_code, first.json()["outcome"]) == (201, "created")
    ticket_id = first.json()["ticket_id"]
    assert push(client, order(1)).json()["outcome"] == "stale"  # the same version again
    text = "第1号平台工单：企业补充了材料清单。"
    changed = version(1, minutes=5, text=text)
    answer = push(client, changed)
    assert (answer.status_code, answer.json()["outcome"]) == (200, "amended")
    assert answer.json()["ticket_id"] == ticket_id
    assert push(client, changed).json()["outcome"] == "stale"
    # A newer version with the same content changes nothing but is not stale.
    same = {**changed, "gxsj": version(1, minutes=6)["gxsj"]}
    assert push(client, same).json()["outcome"] == "unchanged"
    # Each version carries the whole order: the withdrawn one still has the changed text.
    withdrawn = push(client, version(1, minutes=9, withdraw=True, text=text))
    assert withdrawn.json()["outcome"] == "withdrawn"
    again = push(client, version(1, minutes=12, withdraw=True, text=text))
    assert again.json()["outcome"] == "unchanged"
    with Session(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        assert (ticket.status, ticket.text) == ("closed", text)
    actions = _actions(engine, ticket_id)
    assert (actions.count("amend"), actions.count("withdraw")) == (1, 1)

    # An order withdrawn before qisu ever saw it is taken in and closed, so the trail shows it.
    early = push(client, version(2, minutes=3, withdraw=True))
    assert (early.status_code, early.json()["outcome"]) == (201, "withdrawn")
    assert _actions(engine, early.json()["ticket_id"])[-1] == "withdraw"


def test_an_unknown_state_code_is_a_dead_letter_naming_the_field(
    connector_file: Path, client: TestClient, engine: Engine
) -> None:
    refused = push(client, {**order(3), "gdzt": "7"})
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "unmappable_order" and body["field"] == "gdzt"
    assert "无法映射" in body["detail"]
    assert row_count(engine, "ticket") == 0 and row_count(engine, "dead_letter") == 1
