"""PIPL: a full contact is read explicitly and logged; contacts past retention are anonymised."""

from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from accounts.audit import Actor
from core.db import session_scope
from models import AuditRecord, Role, Ticket, utcnow
from tests.conftest import MakeUser, ticket_payload
from tests.tickets.conftest import Loop
from tickets import retention

FULL = {"name": "李女士", "phone": "13900000001"}


def _records(engine: Engine, action: str) -> list[AuditRecord]:
    with Session(engine) as session:
        query = select(AuditRecord).where(col(AuditRecord.action) == action)
        return list(session.exec(query.order_by(col(AuditRecord.seq))))


def test_a_masked_viewer_reads_the_contact_only_by_asking_and_is_logged(
    loop: Loop, engine: Engine
) -> None:
    loop.dispatch()  # market_regulation leads, anting assists
    path = f"/api/v1/tickets/{loop.id}/contact-reveal"
    ticket = loop.client.get(f"/api/v1/tickets/{loop.id}", headers=loop.anting).json()
    assert ticket["contact"] == {"name": "李**", "phone": "139****0001"}
    assert _records(engine, "contact_view") == []  # a masked view is no view of the contact
    no_reason = loop.client.post(path, json={}, headers=loop.anting)
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    revealed = loop.client.post(path, json={"reason": "协办需要联系企业"}, headers=loop.anting)
    assert revealed.status_code == 200 and revealed.json() == FULL
    hidden = loop.client.post(path, json={"reason": "看看"}, headers=loop.hrss)
    assert hidden.status_code == 404
    [record] = _records(engine, "contact_reveal")
    assert record.target == f"ticket:{loop.id}" and record.detail == "协办需要联系企业"
    assert record.role == "subdistrict" and record.outcome == "success" and record.address


def test_opening_a_ticket_with_its_contact_in_full_is_logged(loop: Loop, engine: Engine) -> None:
    loop.dispatch()
    for who in (loop.desk, loop.market):
        assert loop.client.get(f"/api/v1/tickets/{loop.id}", headers=who).json()["contact"] == FULL
    views = _records(engine, "contact_view")
    assert [(r.role, r.target) for r in views] == [
        ("operator", f"ticket:{loop.id}"),
        ("unit_handler", f"ticket:{loop.id}"),
    ]


def _figures(loop: Loop, boss: dict[str, str]) -> tuple[Any, Any]:
    kpis = loop.client.get(
        "/api/v1/units/market_regulation/kpis",
        params={"from": "2026-01-01", "to": "2027-01-01"},
        headers=boss,
    )
    ranking = loop.client.get("/api/v1/rankings", params={"period": "2026-11"}, headers=boss)
    assert kpis.status_code == 200 and ranking.status_code == 200, (kpis.text, ranking.text)
    return kpis.json(), ranking.json()


def test_a_purge_anonymises_contacts_past_retention_and_keeps_the_figures(
    loop: Loop, engine: Engine, make_user: MakeUser
) -> None:
    boss = make_user(Role.SUPERVISOR)
    period = {"period": "2026-11", "starts": "2026-11-01", "ends": "2026-11-30"}
    assert loop.client.post("/api/v1/evaluation-periods", json=period, headers=boss).is_success
    loop.to_replied()
    loop.act("callback", loop.desk, {"satisfaction": "satisfied"})
    loop.act("close", loop.desk)
    open_one = loop.client.post("/api/v1/tickets", json=ticket_payload(2), headers=loop.desk).json()
    before = _figures(loop, boss)
    actor = Actor(name="test")

    def purge(now_days: int, dry_run: bool) -> retention.Purge:
        with session_scope(engine, write=True) as session:
            return retention.purge(
                session,
                now=utcnow() + timedelta(days=now_days),
                retention_days=3 * 365,
                actor=actor,
                dry_run=dry_run,
            )

    assert purge(3 * 365 - 1, dry_run=False).tickets == 0  # not yet three years
    assert purge(3 * 365 + 1, dry_run=True).tickets == 1
    assert (
        loop.client.get(f"/api/v1/tickets/{loop.id}", headers=loop.desk).json()["contact"] == FULL
    )
    assert purge(3 * 365 + 1, dry_run=False).tickets == 1
    assert purge(3 * 365 + 1, dry_run=False).tickets == 0  # once is enough
    with Session(engine) as session:
        closed = session.get(Ticket, loop.id)
        still = session.get(Ticket, open_one["id"])
        assert closed is not None and still is not None
        assert (closed.contact_name, closed.contact_phone) == ("已匿名", "")
        assert closed.anonymised_at is not None and closed.status == "closed"
        assert still.contact_name == "李女士" and still.anonymised_at is None
    shown = loop.client.get(f"/api/v1/tickets/{loop.id}", headers=loop.desk)
    assert shown.json()["contact"] == {"name": "已匿名", "phone": ""}
    assert _figures(loop, boss) == before
    assert [r.detail.split(" ")[1] for r in _records(engine, "data_purge") if r.detail] == [
        "tickets=0",
        "tickets=1",
        "tickets=0",
    ]
