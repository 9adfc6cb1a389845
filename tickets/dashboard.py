"""The district at a glance: grouped figures of one span for the supervisors' charts.

Each function is one chart and a few grouped queries over the span's tickets (received in
[start, end)), never one query per unit; the console drills down through the ticket listing
with the same filters (lead unit, 街镇, channel, day, status).
"""

from datetime import datetime

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from models import (
    Channel,
    DeadlineStatus,
    RoutingDecision,
    Stage,
    Ticket,
    TicketStatus,
)
from tickets import kpis, measures, rollup


def _in_span(start: datetime, end: datetime) -> tuple[ColumnElement[bool], ...]:
    return col(Ticket.received_at) >= start, col(Ticket.received_at) < end


def volume(session: Session, *, start: datetime, end: datetime) -> dict[str, object]:
    """Appeals per day and per channel."""
    day = measures.local_day(session, col(Ticket.received_at)).label("day")
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
_STEP_STAGE = dict(zip(("acknowledged", "replied", "closed"), measures.FUNNEL_STAGES, strict=True))


def funnel(
    session: Session, *, start: datetime, end: datetime, rolled: bool = True
) -> dict[str, object]:
    """Received → dispatched → acknowledged → replied → closed, with the share on time."""
    statuses = measures.totals(rollup.counts(session, "received", start, end, rolled=rolled))
    received = sum(statuses.values())
    # A step is on time when its deadline was met before it was breached (decided ones only).
    decided = rollup.counts(session, "received_deadline", start, end, rolled=rolled)
    tally: dict[Stage, dict[str, int]] = {}
    for (_, key), n in measures.totals(decided).items():
        stage, status = key.split(":")
        tally.setdefault(Stage(stage), {})[status] = n

    def on_time(stage: Stage | None) -> float | None:
        if stage is None:
            return None
        met = tally.get(stage, {}).get(DeadlineStatus.MET.value, 0)
        late = tally.get(stage, {}).get(DeadlineStatus.BREACHED.value, 0)
        return round(met / (met + late), 4) if met + late else None

    steps: list[dict[str, object]] = [
        {"step": "received", "count": received, "on_time_rate": None, "statuses": []}
    ]
    for step, reached in _REACHED.items():
        steps.append(
            {
                "step": step,
                "count": sum(statuses.get(("", s.value), 0) for s in reached),
                "on_time_rate": on_time(_STEP_STAGE.get(step)),
                "statuses": [s.value for s in reached],
            }
        )
    return {"steps": steps}


def rates(
    session: Session, *, start: datetime, end: datetime, rolled: bool = True
) -> dict[str, object]:
    """签收及时率, 按时办结率 and 满意率 per department, from the rankings' own definitions."""
    clocks = kpis.on_time_rates_by_unit(
        session, start=start, end=end, stages=(Stage.ACKNOWLEDGE, Stage.REPLY), rolled=rolled
    )
    led = kpis.led_by_unit(session, start=start, end=end, rolled=rolled)
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
