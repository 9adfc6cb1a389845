"""Deadlines through the loop: set, met, paused, extended, swept, escalated, counted."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.scheduler import sweep
from core.timezone import SHANGHAI
from deadlines.policy import SlaPolicy, load_policy
from deadlines.sweep import SweepResult
from models import Deadline, Notification, Role, TicketEvent, utcnow
from tests.conftest import MakeUser, ticket_payload
from tests.tickets.conftest import Loop

POLICY = load_policy()


def clocks(loop: Loop) -> dict[str, dict[str, Any]]:
    """The ticket's latest deadline per stage, as the API shows it."""
    ticket = loop.client.get(f"/api/v1/tickets/{loop.id}", headers=loop.desk).json()
    return {d["stage"]: d for d in ticket["deadlines"]}


def rows(engine: Engine, ticket_id: int) -> list[Deadline]:
    with Session(engine) as session:
        query = select(Deadline).where(Deadline.ticket_id == ticket_id)
        return list(session.exec(query.order_by(col(Deadline.id))))


def actions(engine: Engine, ticket_id: int, name: str) -> list[TicketEvent]:
    with Session(engine) as session:
        query = select(TicketEvent).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.action == name
        )
        return list(session.exec(query))


def _sweep(engine: Engine, at: datetime, policy: SlaPolicy = POLICY) -> SweepResult:
    return sweep(engine, policy=policy, now=at, batch=2)


def test_dispatch_starts_the_clocks_and_steps_meet_them(loop: Loop) -> None:
    loop.dispatch()
    started = clocks(loop)
    assert set(started) == {"acknowledge", "contact", "reply", "return_window"}
    for clock in started.values():
        assert clock["status"] == "pending" and clock["unit"] == "market_regulation"
        assert clock["remaining_hours"] > 0 and not clock["paused"]
    # 4 working hours, 1 and 5 working days: the due times are in that order.
    due = {stage: datetime.fromisoformat(c["due_at"]) for stage, c in started.items()}
    assert due["acknowledge"] <= due["contact"] < due["reply"]
    assert started["acknowledge"]["remaining_hours"] == pytest.approx(4, abs=0.05)

    loop.act("acknowledge", loop.market)
    assert clocks(loop)["acknowledge"]["status"] == "met"
    loop.act("contact", loop.market, {"note": "已联系"})
    replied = loop.act("reply", loop.market, {"content": "已办理"})
    after = {d["stage"]: d for d in replied["deadlines"]}
    assert after["reply"]["status"] == "met" and after["return_window"]["status"] == "cancelled"
    assert after["callback"]["status"] == "pending" and after["callback"]["unit"] is None
    loop.act("callback", loop.desk, {"satisfaction": "satisfied"})
    closed = loop.act("close", loop.desk)
    assert {d["status"] for d in closed["deadlines"]} <= {"met", "cancelled"}
    assert closed["overdue"] is False and closed["escalation_level"] == 0


def test_consultations_and_urgent_matters_get_their_own_limits(
    client: Any, make_user: MakeUser
) -> None:
    desk = make_user(Role.OPERATOR)
    due = {}
    for n, (kind, urgency) in enumerate(
        [("consultation", "normal"), ("complaint", "normal"), ("complaint", "urgent")], 1
    ):
        body = ticket_payload(n, appeal_type=kind, urgency=urgency)
        ticket_id = client.post("/api/v1/tickets", json=body, headers=desk).json()["id"]
        dispatched = client.post(
            f"/api/v1/tickets/{ticket_id}/dispatch",
            json={"lead_unit": "market_regulation"},
            headers=desk,
        ).json()
        reply = next(d for d in dispatched["deadlines"] if d["stage"] == "reply")
        due[kind, urgency] = reply
    assert due["consultation", "normal"]["remaining_hours"] == pytest.approx(8, abs=0.05)
    assert due["complaint", "normal"]["remaining_hours"] == pytest.approx(40, abs=0.05)
    urgent = due["complaint", "urgent"]
    assert urgent["clock_hours"] and urgent["remaining_hours"] == pytest.approx(24, abs=0.05)


def test_sweep_warns_then_breaches_once_and_escalates(loop: Loop, engine: Engine) -> None:
    loop.dispatch()
    acknowledge = next(r for r in rows(engine, loop.id) if r.stage == "acknowledge")
    assert acknowledge.warn_at and acknowledge.due_at

    warned = _sweep(engine, acknowledge.warn_at + timedelta(seconds=1))
    assert warned.warned >= 1 and warned.breached == 0
    assert clocks(loop)["acknowledge"]["status"] == "warned"
    assert _sweep(engine, acknowledge.warn_at + timedelta(seconds=2)).warned == 0

    breached = _sweep(engine, acknowledge.due_at)
    assert breached.breached >= 1
    ticket = loop.client.get(f"/api/v1/tickets/{loop.id}", headers=loop.desk).json()
    assert ticket["escalation_level"] == breached.breached and ticket["overdue"]
    assert clocks(loop)["acknowledge"]["status"] == "breached"
    again = _sweep(engine, acknowledge.due_at + timedelta(minutes=1))
    assert again.breached == 0
    events = actions(engine, loop.id, "deadline_breached")
    assert len(events) == breached.breached
    assert events[0].actor_name == "system" and events[0].after["escalation_level"] >= 1
    with Session(engine) as session:
        notes = list(session.exec(select(Notification).where(Notification.ticket_id == loop.id)))
    kinds = {(n.kind, n.recipient) for n in notes}
    assert ("deadline_warned", "unit:market_regulation") in kinds
    assert ("deadline_breached", "unit:market_regulation") in kinds
    assert all("工单" in n.text and n.state == "pending" for n in notes)


def test_escalation_stops_at_the_top_level(loop: Loop, engine: Engine) -> None:
    loop.dispatch()
    result = _sweep(engine, utcnow() + timedelta(days=60))
    # acknowledge, contact and reply all breach; the return window just closes.
    assert result.breached == 3 and result.windows_closed == 1
    ticket = loop.client.get(f"/api/v1/tickets/{loop.id}", headers=loop.desk).json()
    assert ticket["escalation_level"] == POLICY.top_level == 3
    with Session(engine) as session:
        recipients = set(
            session.exec(
                select(Notification.recipient).where(Notification.kind == "deadline_breached")
            )
        )
    assert {"unit:market_regulation", "role:leadership"} <= recipients


def test_a_breached_step_done_late_is_recorded(loop: Loop, engine: Engine) -> None:
    loop.dispatch()
    _sweep(engine, utcnow() + timedelta(days=60))
    loop.act("acknowledge", loop.market)
    acknowledge = next(r for r in rows(engine, loop.id) if r.stage == "acknowledge")
    assert acknowledge.status == "breached" and acknowledge.met_at is not None
    assert clocks(loop)["acknowledge"]["remaining_hours"] is None


def test_approved_extension_moves_and_reopens_the_reply_deadline(
    loop: Loop, engine: Engine
) -> None:
    loop.dispatch()
    reply_due = datetime.fromisoformat(clocks(loop)["reply"]["due_at"])
    _sweep(engine, reply_due + timedelta(minutes=1))
    assert clocks(loop)["reply"]["status"] == "breached"
    loop.act("acknowledge", loop.market)
    loop.act("request-extension", loop.market, {"days": 10, "reason": "需现场核查"})
    loop.act("approve-extension", loop.supervisor)
    extended = clocks(loop)["reply"]
    assert extended["status"] == "pending"
    assert datetime.fromisoformat(extended["due_at"]) >= reply_due + timedelta(days=14)


def test_paused_time_does_not_count(loop: Loop, engine: Engine) -> None:
    loop.dispatch()
    loop.act("pause", loop.market, {"reason": "x"}, expect=409)  # not acknowledged yet
    loop.act("acknowledge", loop.market)
    before = datetime.fromisoformat(clocks(loop)["reply"]["due_at"])
    paused = loop.act("pause", loop.market, {"reason": "等待企业补充材料"})
    reply = next(d for d in paused["deadlines"] if d["stage"] == "reply")
    assert reply["paused"] and reply["due_at"] is None and reply["remaining_hours"] > 0
    loop.act("pause", loop.market, {"reason": "again"}, expect=409)
    # A sweep far ahead touches nothing that is paused.
    assert _sweep(engine, utcnow() + timedelta(days=60)).breached == 0
    with Session(engine) as session:
        row = session.exec(select(Deadline).where(Deadline.stage == "reply")).one()
        row.paused_at = (row.paused_at or utcnow()) - timedelta(days=7)  # paused a week ago
        session.add(row)
        session.commit()
    resumed = loop.act("resume", loop.market)
    reply = next(d for d in resumed["deadlines"] if d["stage"] == "reply")
    assert not reply["paused"] and datetime.fromisoformat(reply["due_at"]) > before
    loop.act("resume", loop.market, expect=409)
    assert loop.events()[-2:] == ["pause", "resume"]


def test_return_is_refused_once_the_window_closed(loop: Loop, engine: Engine) -> None:
    loop.dispatch()
    window = datetime.fromisoformat(clocks(loop)["return_window"]["due_at"])
    assert _sweep(engine, window + timedelta(seconds=1)).windows_closed == 1
    assert clocks(loop)["return_window"]["status"] == "met"
    refused = loop.act("return", loop.market, {"reason": "非本局职权"}, expect=409)
    assert "退单时限已于" in refused["detail"] and refused["code"] == "illegal_transition"


def test_overdue_filter_lists_only_breached_tickets(
    loop: Loop, engine: Engine, client: Any
) -> None:
    loop.dispatch()
    other = client.post("/api/v1/tickets", json=ticket_payload(2), headers=loop.desk).json()
    acknowledge = next(r for r in rows(engine, loop.id) if r.stage == "acknowledge")
    assert acknowledge.due_at
    _sweep(engine, acknowledge.due_at)
    listed = client.get("/api/v1/tickets?overdue=true", headers=loop.desk).json()
    assert [t["id"] for t in listed["items"]] == [loop.id]
    on_time = client.get("/api/v1/tickets?overdue=false", headers=loop.desk).json()
    assert other["id"] in [t["id"] for t in on_time["items"]]
    assert loop.id not in [t["id"] for t in on_time["items"]]


def test_unit_kpis(loop: Loop, engine: Engine, client: Any, make_user: MakeUser) -> None:
    loop.to_replied()
    loop.act("callback", loop.desk, {"satisfaction": "unsatisfied", "note": "没解决"})
    today = utcnow().astimezone(SHANGHAI).date()
    span = f"from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"
    figures = client.get(f"/api/v1/units/market_regulation/kpis?{span}", headers=loop.supervisor)
    assert figures.status_code == 200, figures.text
    kpi = figures.json()
    assert kpi["acknowledged_on_time_rate"] == 1.0 and kpi["replied_on_time_rate"] == 1.0
    assert kpi["tickets_led"] == 1 and kpi["reopen_rate"] == 1.0 and kpi["overdue"] == 0
    assert 0 <= kpi["average_working_hours_to_reply"] < 1

    _sweep(engine, utcnow() + timedelta(days=60))  # the reopened work breaches
    kpi = client.get(f"/api/v1/units/market_regulation/kpis?{span}", headers=loop.market).json()
    assert kpi["overdue"] >= 1 and kpi["replied_on_time_rate"] < 1.0

    assert client.get(f"/api/v1/units/hrss/kpis?{span}", headers=loop.market).status_code == 403
    assert client.get(f"/api/v1/units/nope/kpis?{span}", headers=loop.desk).status_code == 404
    bad = client.get("/api/v1/units/hrss/kpis?from=2026-12-01&to=2026-11-01", headers=loop.desk)
    assert bad.status_code == 422
