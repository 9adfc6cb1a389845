"""Deadline rows set, met, paused, extended and cancelled by the loop's transitions.

A row keeps its start, its limit in hours and the hours it was paused; due_at and warn_at are
always recomputed from those, so a pause, an extension or a newly published holiday schedule
moves them consistently.
"""

from datetime import datetime

from sqlalchemy import bindparam, insert
from sqlmodel import Session, col, select

from deadlines.policy import SlaPolicy
from deadlines.working_time import Limit, LimitUnit, WorkingCalendar
from models import OPEN_STATUSES, Deadline, DeadlineStatus, Stage, Ticket

_INSERT = insert(Deadline.__table__)  # type: ignore[attr-defined]
# What a new row starts with besides its clock; every column named, so one INSERT shape serves.
_NEW = {
    "status": DeadlineStatus.PENDING,
    "paused_hours": 0.0,
    "paused_at": None,
    "warned_at": None,
    "breached_at": None,
    "met_at": None,
    "closed_at": None,
}


def _limit_hours(limit: Limit, calendar: WorkingCalendar) -> tuple[float, bool]:
    """The limit in hours, and whether they are clock hours."""
    if limit.unit == LimitUnit.CLOCK_HOURS:
        return limit.amount, True
    days = limit.unit == LimitUnit.WORKING_DAYS
    return limit.amount * (calendar.hours_per_day if days else 1.0), False


def _schedule(
    started_at: datetime, limit_hours: float, paused_hours: float, clock: bool, *,
    calendar: WorkingCalendar, warn_at: float,
) -> tuple[datetime, datetime, bool]:  # fmt: skip
    """due_at, warn_at and whether a year was counted Monday–Friday."""
    unit = LimitUnit.CLOCK_HOURS if clock else LimitUnit.WORKING_HOURS
    due = calendar.due(started_at, Limit(limit_hours + paused_hours, unit))
    warn = calendar.due(started_at, Limit(limit_hours * warn_at + paused_hours, unit))
    return due.at, warn.at, due.fallback or warn.fallback


def reschedule(row: Deadline, *, calendar: WorkingCalendar, warn_at: float) -> None:
    """Recompute due_at and warn_at from the start, the limit and the paused hours."""
    row.due_at, row.warn_at, row.fallback = _schedule(
        row.started_at, row.limit_hours, row.paused_hours, row.clock,
        calendar=calendar, warn_at=warn_at,
    )  # fmt: skip


def start(
    session: Session,
    *,
    policy: SlaPolicy,
    stage: Stage,
    unit_code: str | None,
    now: datetime,
    ticket: Ticket | None = None,
    whistle_id: int | None = None,
) -> None:
    """Start one stage's clock for a ticket (its type and urgency pick the limit) or a whistle."""
    if ticket is not None:
        limit = policy.limit(stage, appeal_type=ticket.appeal_type, urgency=ticket.urgency)
    else:
        limit = policy.limit(stage)
    hours, clock = _limit_hours(limit, policy.calendar)
    due, warn, fallback = _schedule(
        now, hours, 0.0, clock, calendar=policy.calendar, warn_at=policy.warn_at
    )
    # A new row is written at once, as Core: the ORM's object and flush cost several times more.
    values = {
        "ticket_id": ticket.id if ticket else None,
        "whistle_id": whistle_id,
        "unit_code": unit_code,
        "stage": stage,
        "started_at": now,
        "limit_hours": hours,
        "clock": clock,
        "due_at": due,
        "warn_at": warn,
        "fallback": fallback,
    }
    session.connection().execute(_INSERT, {**_NEW, **values})


# Built once: the loop reads a ticket's deadlines at nearly every step, and building the statement
# and its cache key each time cost more than running it.
_OF_TICKET = (
    select(Deadline)
    .where(col(Deadline.ticket_id) == bindparam("ticket_id"))
    .order_by(col(Deadline.id))
)
_OF_STAGES = _OF_TICKET.where(col(Deadline.stage).in_(bindparam("stages", expanding=True)))


def of_ticket(
    session: Session, *, ticket_id: int, stages: set[Stage] | None = None
) -> list[Deadline]:
    """The ticket's deadlines, oldest first."""
    if stages:
        found = session.exec(_OF_STAGES, params={"ticket_id": ticket_id, "stages": list(stages)})
    else:
        found = session.exec(_OF_TICKET, params={"ticket_id": ticket_id})
    return list(found)


def of_whistle(
    session: Session, *, whistle_id: int, unit_code: str, stages: set[Stage]
) -> list[Deadline]:
    """A whistled department's deadlines, oldest first."""
    query = select(Deadline).where(
        Deadline.whistle_id == whistle_id,
        Deadline.unit_code == unit_code,
        col(Deadline.stage).in_(stages),
    )
    return list(session.exec(query.order_by(col(Deadline.id))))


def meet(session: Session, *, ticket_id: int, stage: Stage, now: datetime) -> None:
    """The stage is done: open clocks are met; a breached one records when it was met late."""
    meet_rows(session, of_ticket(session, ticket_id=ticket_id, stages={stage}), now=now)


def meet_rows(session: Session, rows: list[Deadline], *, now: datetime) -> None:
    """Mark these deadlines met (a breached one keeps its breach and records when)."""
    for row in rows:
        if row.status in OPEN_STATUSES:
            row.status, row.met_at, row.closed_at = DeadlineStatus.MET, now, now
        elif row.overdue:
            row.met_at = now
        else:
            continue
        row.paused_at = None
        session.add(row)


def cancel(
    session: Session, *, ticket_id: int, now: datetime, stages: set[Stage] | None = None
) -> None:
    """Stop the open clocks (all, or of some stages): the ticket left the path they timed."""
    for row in of_ticket(session, ticket_id=ticket_id, stages=stages):
        if row.status in OPEN_STATUSES:
            row.status, row.closed_at, row.paused_at = DeadlineStatus.CANCELLED, now, None
            session.add(row)


def pause(session: Session, *, policy: SlaPolicy, ticket_id: int, now: datetime) -> int:
    """Stop the running clocks while the enterprise is awaited; returns how many were paused."""
    paused = 0
    for row in of_ticket(session, ticket_id=ticket_id):
        if (
            row.status in OPEN_STATUSES
            and row.paused_at is None
            and row.stage != Stage.RETURN_WINDOW
        ):
            # An empty due_at keeps a paused row out of every sweep.
            row.paused_at, row.due_at, row.warn_at = now, None, None
            session.add(row)
            paused += 1
    return paused


def resume(session: Session, *, policy: SlaPolicy, ticket_id: int, now: datetime) -> int:
    """Restart paused clocks; the paused time does not count against them."""
    resumed = 0
    for row in of_ticket(session, ticket_id=ticket_id):
        if row.paused_at is not None:
            row.paused_hours += _elapsed_hours(row, row.paused_at, now, policy.calendar)
            row.paused_at = None
            reschedule(row, calendar=policy.calendar, warn_at=policy.warn_at)
            session.add(row)
            resumed += 1
    return resumed


def _elapsed_hours(
    row: Deadline, begin: datetime, end: datetime, calendar: WorkingCalendar
) -> float:
    if row.clock:
        return max((end - begin).total_seconds(), 0.0) / 3600
    return calendar.working_hours_between(begin, end)


def extend(session: Session, *, policy: SlaPolicy, ticket_id: int, days: int) -> None:
    """An approved extension adds working days to the reply deadline (a breached one reopens)."""
    for row in of_ticket(session, ticket_id=ticket_id, stages={Stage.REPLY}):
        if row.met_at is not None or row.status == DeadlineStatus.CANCELLED:
            continue
        row.limit_hours += days * (24.0 if row.clock else policy.calendar.hours_per_day)
        if row.status == DeadlineStatus.BREACHED:
            row.status, row.breached_at = DeadlineStatus.PENDING, None
        if row.paused_at is None:
            reschedule(row, calendar=policy.calendar, warn_at=policy.warn_at)
        session.add(row)


def remaining_hours(row: Deadline, *, calendar: WorkingCalendar, now: datetime) -> float | None:
    """Working (or clock) hours left before the row falls due; negative once overdue."""
    if row.status not in OPEN_STATUSES and not row.overdue:
        return None
    if row.paused_at is not None:
        used = _elapsed_hours(row, row.started_at, row.paused_at, calendar) - row.paused_hours
        return round(row.limit_hours - used, 2)
    assert row.due_at is not None
    if now <= row.due_at:
        return round(_elapsed_hours(row, now, row.due_at, calendar), 2)
    return -round(_elapsed_hours(row, row.due_at, now, calendar), 2)


def recompute_fallbacks(session: Session, *, policy: SlaPolicy) -> int:
    """Recount open deadlines that were counted Monday–Friday, now that more years are known."""
    count = 0
    rows = session.exec(
        select(Deadline).where(Deadline.fallback == True, col(Deadline.status).in_(OPEN_STATUSES))  # noqa: E712
    )
    for row in rows:
        if row.paused_at is None:
            reschedule(row, calendar=policy.calendar, warn_at=policy.warn_at)
            session.add(row)
            count += 1
    return count


def window_closed(session: Session, *, ticket_id: int, now: datetime) -> datetime | None:
    """When the current return window closed, or None while a return is still allowed."""
    rows = of_ticket(session, ticket_id=ticket_id, stages={Stage.RETURN_WINDOW})
    if not rows:
        return None
    last = rows[-1]
    if last.status in OPEN_STATUSES and last.due_at is not None and now <= last.due_at:
        return None
    return last.due_at or last.closed_at or now
