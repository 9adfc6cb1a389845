"""The additive counts behind the funnel, the rates and the rankings: one definition each.

A measure is a grouped query over the rows of some spans of time, returning counts
(unit, key, ticket, n). The live charts run it over their span; the daily roll-up
(tickets.rollup) stores its answer for each complete day and runs it live only over the rest,
so both read the same predicates. A count with a ticket id (a unit led that ticket more than
once) is counted once however many days hold it; every other count is summed.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Date, and_, case, cast, func, literal_column, or_
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from models import (
    Assignment,
    AssignmentRole,
    AssignmentState,
    Deadline,
    DeadlineStatus,
    Satisfaction,
    Stage,
    Ticket,
)

Spans = Sequence[tuple[datetime, datetime]]

# A deadline is decided once met or breached; on time when met (a breach stays a breach).
DECIDED = (DeadlineStatus.MET, DeadlineStatus.BREACHED)
# 满意率 counts satisfied and basically satisfied verdicts among the rated.
PLEASED = (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED)
# The funnel's steps timed by a deadline.
FUNNEL_STAGES = (Stage.ACKNOWLEDGE, Stage.REPLY, Stage.CALLBACK)
# The ticket stages the roll-up keeps: every change to them writes a ticket event. The return
# window is left out: the sweep closes it without one (deadlines.sweep._close_windows).
ROLLED_STAGES = (Stage.ACKNOWLEDGE, Stage.CONTACT, Stage.REPLY, Stage.CALLBACK)


class Count(NamedTuple):
    """One count of a measure: per unit (or ""), per key (or ""), per ticket (or 0)."""

    unit: str
    key: str
    ticket: int
    n: int


def local_day(session: Session, column: Any) -> ColumnElement[str]:
    """The Shanghai day of a stored instant, as YYYY-MM-DD."""
    if session.get_bind().dialect.name == "sqlite":
        # Stored as UTC text without an offset; Shanghai keeps no daylight saving.
        return func.date(column, "+8 hours")
    local = func.timezone("Asia/Shanghai", column)
    return func.to_char(cast(local, Date), literal_column("'YYYY-MM-DD'"))


def within(column: Any, spans: Spans) -> ColumnElement[bool]:
    """The column falls in one of the spans, each [start, end)."""
    return or_(*(and_(column >= start, column < end) for start, end in spans))


def received(session: Session, spans: Spans, *, split: bool = False) -> list[Count]:
    """Tickets received in the spans, by their status now."""
    rows = session.exec(
        select(Ticket.status, func.count())
        .where(within(col(Ticket.received_at), spans))
        .group_by(col(Ticket.status))
    ).all()
    return [Count("", str(status), 0, int(n)) for status, n in rows]


def received_deadlines(session: Session, spans: Spans, *, split: bool = False) -> list[Count]:
    """The funnel stages' decided deadlines of the tickets received in the spans."""
    rows = session.exec(
        select(Deadline.stage, Deadline.status, func.count())
        .join(Ticket, col(Ticket.id) == col(Deadline.ticket_id))
        .where(
            within(col(Ticket.received_at), spans),
            col(Deadline.stage).in_(FUNNEL_STAGES),
            col(Deadline.status).in_(DECIDED),
        )
        .group_by(col(Deadline.stage), col(Deadline.status))
    ).all()
    return [Count("", f"{stage}:{status}", 0, int(n)) for stage, status, n in rows]


def decided_deadlines(
    session: Session,
    spans: Spans,
    *,
    split: bool = False,
    stages: tuple[Stage, ...] = ROLLED_STAGES,
    whistles: bool = False,
) -> list[Count]:
    """Decided deadlines started in the spans, per unit, stage and status (key stage:status).

    `whistles` counts the whistles' deadlines instead of the tickets'.
    """
    owner = col(Deadline.whistle_id) if whistles else col(Deadline.ticket_id)
    rows = session.exec(
        select(Deadline.unit_code, Deadline.stage, Deadline.status, func.count())
        .where(
            col(Deadline.stage).in_(stages),  # the stage first: an index range per stage
            within(col(Deadline.started_at), spans),
            col(Deadline.status).in_(DECIDED),
            owner.is_not(None),
        )
        .group_by(col(Deadline.unit_code), col(Deadline.stage), col(Deadline.status))
    ).all()
    return [Count(unit or "", f"{stage}:{status}", 0, int(n)) for unit, stage, status, n in rows]


def _leading(spans: Spans) -> tuple[ColumnElement[bool], ...]:
    return col(Assignment.role) == AssignmentRole.LEAD, within(col(Assignment.created_at), spans)


def lead_assignments(session: Session, spans: Spans, *, split: bool = False) -> list[Count]:
    """Lead assignments made in the spans per unit (key led), and how many were returned."""
    returned = func.sum(case((col(Assignment.state) == AssignmentState.RETURNED, 1), else_=0))
    rows = session.exec(
        select(Assignment.unit_code, func.count(), returned)
        .where(*_leading(spans))
        .group_by(col(Assignment.unit_code))
    ).all()
    out = []
    for unit, led, back in rows:
        out += [Count(unit, "led", 0, int(led)), Count(unit, "returned", 0, int(back or 0))]
    return out


PAIR_KEYS = ("tickets", "rated", "satisfied", "repeats")


def led_tickets(session: Session, spans: Spans, *, split: bool = False) -> list[Count]:
    """The distinct tickets each unit led from the spans, and how many were rated, pleased
    (satisfied or basically satisfied) or repeats.

    `split` counts per ticket the ones a unit led more than once (ever), so that spans counted
    apart (days of the roll-up) count such a ticket once when they are put together.
    """
    pairs = (
        select(Assignment.unit_code, Assignment.ticket_id)
        .where(*_leading(spans))
        .distinct()
        .subquery()
    )
    flags = (
        func.count(),
        func.sum(case((col(Ticket.satisfaction).is_not(None), 1), else_=0)),
        func.sum(case((col(Ticket.satisfaction).in_(PLEASED), 1), else_=0)),
        func.sum(case((col(Ticket.repeat_of).is_not(None), 1), else_=0)),
    )
    if split:
        again = aliased(Assignment)
        times = (
            sa_select(func.count())
            .where(
                col(again.ticket_id) == pairs.c.ticket_id,
                col(again.unit_code) == pairs.c.unit_code,
                col(again.role) == AssignmentRole.LEAD,
            )
            .scalar_subquery()
        )
        keyed = sa_select(
            pairs.c.unit_code,
            pairs.c.ticket_id,
            case((times > 1, pairs.c.ticket_id), else_=0).label("ticket_key"),
        ).subquery()
        query = (
            sa_select(keyed.c.unit_code, keyed.c.ticket_key, *flags)
            .join(Ticket, col(Ticket.id) == keyed.c.ticket_id)
            .group_by(keyed.c.unit_code, keyed.c.ticket_key)
        )
    else:
        query = (
            sa_select(pairs.c.unit_code, literal_column("0"), *flags)
            .join(Ticket, col(Ticket.id) == pairs.c.ticket_id)
            .group_by(pairs.c.unit_code)
        )
    rows = session.execute(query).all()
    return [
        Count(unit, key, int(ticket), int(n or 0))
        for unit, ticket, *counts in rows
        for key, n in zip(PAIR_KEYS, counts, strict=True)
        if n or key == "tickets"
    ]


Measure = Callable[..., list[Count]]
# What the roll-up stores, by name.
MEASURES: dict[str, Measure] = {
    "received": received,
    "received_deadline": received_deadlines,
    "deadline": decided_deadlines,
    "lead": lead_assignments,
    "led_ticket": led_tickets,
}


def totals(counts: Sequence[Count]) -> dict[tuple[str, str], int]:
    """Counts put together: summed, a per-ticket count once per ticket, zeros left out."""
    out: dict[tuple[str, str], int] = {}
    seen: set[tuple[str, str, int]] = set()
    for unit, key, ticket, n in counts:
        if not n:
            continue  # the roll-up stores no zeros: neither side keeps one
        if ticket:
            if (unit, key, ticket) in seen:
                continue
            seen.add((unit, key, ticket))
            n = 1
        out[(unit, key)] = out.get((unit, key), 0) + n
    return out
