"""The district at a glance: grouped figures of one span for the supervisors' charts.

Each function is one chart and a few grouped queries over the span's tickets (received in
[start, end)), never one query per unit; the console drills down through the ticket listing
with the same filters (lead unit, 街镇, channel, day, status).
"""

from datetime import datetime

from sqlalchemy import ColumnElement, Date, case, cast, func, literal_column
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models import (
    Channel,
    Deadline,
    DeadlineStatus,
    RoutingDecision,
    Stage,
    Ticket,
    TicketStatus,
)
from tickets import kpis


def _in_span(start: datetime, end: datetime) -> tuple[ColumnElement[bool], ...]:
    return col(Ticket.received_at) >= start, col(Ticket.received_at) < end


def _local_day(session: Session) -> ColumnElement[str]:
    """The day a ticket was received on, in Shanghai, as YYYY-MM-DD."""
    if session.get_bind().dialect.name == "sqlite":
        # Stored as UTC text without an offset; Shanghai keeps no daylight saving.
        return func.date(col(Ticket.received_at), "+8 hours")
    local = func.timezone("Asia/Shanghai", col(Ticket.received_at))
    return func.to_char(cast(local, Date), literal_column("'YYYY-MM-DD'"))


def volume(session: Session, *, start: datetime, end: datetime) -> dict[str, object]:
    """Appeals per day and per channel."""
    day = _local_day(session).label("day")
    rows = session.exec(
        select(day, Ticket.channel, func.count())
        .where(*_in_span(start, end))
        .group_by(day, col(Ticket.channel))
        .order_by(day)
    ).all()
    days = sorted({str(d) for d, _, _ in rows})
    by_channel: dict[str, dict[str, int]] = {c.value: {} for c in Channel}
    for d, channel, n in rows:
        by_channel.setdefault(str(channel), {})[str(d)] = int(n)
    return {
        "days": days,
        "channels": [
            {"channel": c, "counts": [counts.get(d, 0) for d in days]}
            for c, counts in by_channel.items()
        ],
        "total": sum(int(n) for _, _, n in rows),
    }


def by_unit(session: Session, *, start: datetime, end: datetime) -> dict[str, object]:
    """Appeals by lead unit and by 街镇, largest first (triage has no lead: `null`)."""
    span = _in_span(start, end)
    leads = session.exec(
        select(Ticket.lead_unit, func.count())
        .where(*span)
        .group_by(col(Ticket.lead_unit))
        .order_by(func.count().desc())
    ).all()
    areas = session.exec(
        select(Ticket.subdistrict, func.count())
        .where(*span)
        .group_by(col(Ticket.subdistrict))
        .order_by(func.count().desc())
    ).all()
    return {
        "lead_units": [{"unit": u, "count": int(n)} for u, n in leads],
        "subdistricts": [{"unit": u, "count": int(n)} for u, n in areas],
    }


# The loop's steps after receipt: the stage whose met deadline marks it, and the statuses a
# ticket that reached it may be in now (the drill-down's filter).
_REACHED: dict[str, list[TicketStatus]] = {
    "dispatched": [s for s in TicketStatus if s != TicketStatus.TRIAGE],
    "acknowledged": [
        TicketStatus.ACKNOWLEDGED,
        TicketStatus.CONTACTED,
        TicketStatus.REPLIED,
        TicketStatus.VERIFIED,
        TicketStatus.CLOSED,
        TicketStatus.REOPENED,
    ],
    "replied": [TicketStatus.REPLIED, TicketStatus.VERIFIED, TicketStatus.CLOSED],
    "closed": [TicketStatus.CLOSED],
}
_STEP_STAGE = {"acknowledged": Stage.ACKNOWLEDGE, "replied": Stage.REPLY, "closed": Stage.CALLBACK}


def funnel(session: Session, *, start: datetime, end: datetime) -> dict[str, object]:
    """Received → dispatched → acknowledged → replied → closed, with the share on time."""
    span = _in_span(start, end)
    reached = [
        func.sum(case((col(Ticket.status).in_(statuses), 1), else_=0))
        for statuses in _REACHED.values()
    ]
    received, *counts = session.execute(sa_select(func.count(), *reached).where(*span)).one()
    # A step is on time when its deadline was met before it was breached (decided ones only).
    stages = tuple(_STEP_STAGE.values())
    decided = session.exec(
        select(Deadline.stage, Deadline.status, func.count())
        .join(Ticket, col(Ticket.id) == col(Deadline.ticket_id))
        .where(
            *span,
            col(Deadline.stage).in_(stages),
            col(Deadline.status).in_((DeadlineStatus.MET, DeadlineStatus.BREACHED)),
        )
        .group_by(col(Deadline.stage), col(Deadline.status))
    ).all()
    tally: dict[Stage, dict[str, int]] = {}
    for stage, status, n in decided:
        tally.setdefault(Stage(stage), {})[str(status)] = int(n)

    def on_time(stage: Stage | None) -> float | None:
        if stage is None:
            return None
        met = tally.get(stage, {}).get(DeadlineStatus.MET.value, 0)
        late = tally.get(stage, {}).get(DeadlineStatus.BREACHED.value, 0)
        return round(met / (met + late), 4) if met + late else None

    steps: list[dict[str, object]] = [
        {"step": "received", "count": int(received), "on_time_rate": None, "statuses": []}
    ]
    for (step, statuses), n in zip(_REACHED.items(), counts, strict=True):
        steps.append(
            {
                "step": step,
                "count": int(n or 0),
                "on_time_rate": on_time(_STEP_STAGE.get(step)),
                "statuses": [s.value for s in statuses],
            }
        )
    return {"steps": steps}


def rates(session: Session, *, start: datetime, end: datetime) -> dict[str, object]:
    """签收及时率, 按时办结率 and 满意率 per department, from the rankings' own definitions."""
    clocks = kpis.on_time_rates_by_unit(
        session, start=start, end=end, stages=(Stage.ACKNOWLEDGE, Stage.REPLY)
    )
    led = kpis.led_by_unit(session, start=start, end=end)
    units = sorted({u for u, _ in clocks} | set(led))
    out = []
    for unit in units:
        work = led.get(unit, {})
        rated = work.get("rated", 0)
        out.append(
            {
                "unit": unit,
                "acknowledged_on_time_rate": clocks.get((unit, Stage.ACKNOWLEDGE), (None, 0))[0],
                "replied_on_time_rate": clocks.get((unit, Stage.REPLY), (None, 0))[0],
                "satisfaction_rate": round(work.get("satisfied", 0) / rated, 4) if rated else None,
                "led": work.get("led", 0),
            }
        )
    return {"units": out}


def repeats(session: Session, *, start: datetime, end: datetime) -> dict[str, object]:
    """Repeat appeals by lead unit, and how many of the span's appeals are repeats."""
    rows = session.exec(
        select(Ticket.lead_unit, func.count())
        .where(*_in_span(start, end), col(Ticket.repeat_of).is_not(None))
        .group_by(col(Ticket.lead_unit))
        .order_by(func.count().desc())
    ).all()
    total = session.exec(select(func.count()).where(*_in_span(start, end))).one()
    repeated = sum(int(n) for _, n in rows)
    return {
        "total": int(total),
        "repeats": repeated,
        "share": round(repeated / int(total), 4) if total else None,
        "lead_units": [{"unit": u, "count": int(n)} for u, n in rows],
    }


def routing_share(session: Session, *, start: datetime, end: datetime) -> dict[str, object]:
    """How many intake decisions of the span routing dispatched, and how many went to triage."""
    rows = session.exec(
        select(RoutingDecision.model_version, RoutingDecision.dispatched, func.count())
        .where(
            RoutingDecision.trigger == "intake",
            col(RoutingDecision.created_at) >= start,
            col(RoutingDecision.created_at) < end,
        )
        .group_by(col(RoutingDecision.model_version), col(RoutingDecision.dispatched))
    ).all()
    decisions = sum(int(n) for _, _, n in rows)
    triaged = sum(int(n) for _, dispatched, n in rows if not dispatched)
    versions: dict[str, dict[str, int]] = {}
    for version, dispatched, n in rows:
        entry = versions.setdefault(version or "", {"decisions": 0, "triaged": 0})
        entry["decisions"] += int(n)
        entry["triaged"] += 0 if dispatched else int(n)
    return {
        "decisions": decisions,
        "triaged": triaged,
        "triage_share": round(triaged / decisions, 4) if decisions else None,
        "versions": [
            {"model_version": v or None, **counts} for v, counts in sorted(versions.items())
        ],
    }
