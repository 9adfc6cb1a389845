"""A unit's deadline figures: 签收及时率, 按时办结率, overdue, hours to reply, reopen rate."""

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import case
from sqlmodel import Session, col, func, select

from deadlines.working_time import WorkingCalendar
from models import (
    Assignment,
    AssignmentRole,
    Deadline,
    DeadlineStatus,
    Stage,
    Ticket,
)
from tickets import measures, rollup


class UnitKpis(BaseModel):
    """Deadlines that started in [from, to) for one unit; a rate is null when nothing was due."""

    unit: str
    period_from: datetime = Field(serialization_alias="from")
    period_to: datetime = Field(serialization_alias="to")
    acknowledged_on_time_rate: float | None = Field(description="签收及时率")
    replied_on_time_rate: float | None = Field(description="按时办结率")
    overdue: int = Field(description="Breached deadlines not met yet")
    average_working_hours_to_reply: float | None
    reopen_rate: float | None = Field(description="Share of led tickets reopened (重办)")
    tickets_led: int


def on_time_rate(rows: list[Deadline], stage: Stage) -> float | None:
    """The share of a stage's decided deadlines (met or breached) that were met."""
    decided = [r for r in rows if r.stage == stage and r.status in measures.DECIDED]
    if not decided:
        return None
    return round(sum(r.status == DeadlineStatus.MET for r in decided) / len(decided), 4)


def unit_kpis(
    session: Session, *, unit: str, start: datetime, end: datetime, calendar: WorkingCalendar
) -> UnitKpis:
    """Compute the figures from the deadline rows and the unit's lead assignments."""
    rows = list(
        session.exec(
            select(Deadline).where(
                Deadline.unit_code == unit,
                col(Deadline.ticket_id).is_not(None),
                col(Deadline.started_at) >= start,
                col(Deadline.started_at) < end,
            )
        )
    )
    replies = [r for r in rows if r.stage == Stage.REPLY and r.met_at is not None]
    hours = [
        calendar.working_hours_between(r.started_at, r.met_at) - r.paused_hours
        for r in replies
        if r.met_at
    ]
    led = select(Assignment.ticket_id).where(
        Assignment.unit_code == unit,
        Assignment.role == AssignmentRole.LEAD,
        col(Assignment.created_at) >= start,
        col(Assignment.created_at) < end,
    )
    total, reopened = session.exec(
        select(
            func.count(), func.coalesce(func.sum(case((col(Ticket.reopen_count) > 0, 1))), 0)
        ).where(col(Ticket.id).in_(led))
    ).one()
    return UnitKpis(
        unit=unit,
        period_from=start,
        period_to=end,
        acknowledged_on_time_rate=on_time_rate(rows, Stage.ACKNOWLEDGE),
        replied_on_time_rate=on_time_rate(rows, Stage.REPLY),
        overdue=sum(r.overdue for r in rows),
        average_working_hours_to_reply=round(sum(hours) / len(hours), 2) if hours else None,
        reopen_rate=round(reopened / total, 4) if total else None,
        tickets_led=total,
    )


def _rate(met: int, breached: int) -> float | None:
    decided = met + breached
    return round(met / decided, 4) if decided else None


def on_time_rates_by_unit(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    stages: tuple[Stage, ...],
    whistles: bool = False,
    rolled: bool = True,
) -> dict[tuple[str, Stage], tuple[float | None, int]]:
    """Every unit's on-time share of each stage's decided deadlines started in [start, end).

    One grouped query for all units (the share `on_time_rate` gives one unit), and how many
    were decided; `whistles` counts the whistles' deadlines instead of the tickets'. The
    tickets' read the daily roll-up unless `rolled` is false (the same figures, live).
    """
    if whistles or not set(stages) <= set(measures.ROLLED_STAGES):
        found = measures.decided_deadlines(
            session, [(start, end)], stages=stages, whistles=whistles
        )
    else:
        found = rollup.counts(session, "deadline", start, end, rolled=rolled, stages=stages)
    tally: dict[tuple[str, Stage], list[int]] = {}
    for (unit, key), n in measures.totals(found).items():
        stage, status = key.split(":")
        if Stage(stage) not in stages:
            continue
        counts = tally.setdefault((unit, Stage(stage)), [0, 0])
        counts[0 if status == DeadlineStatus.MET else 1] += n
    return {key: (_rate(met, late), met + late) for key, (met, late) in tally.items()}


def led_by_unit(
    session: Session, *, start: datetime, end: datetime, rolled: bool = True
) -> dict[str, dict[str, int]]:
    """Per unit, its lead assignments made in [start, end) and what became of their tickets.

    `led` and `returned` count assignments; `tickets`, `rated`, `satisfied` (satisfied or
    basically satisfied) and `repeats` count the distinct tickets they led. From the daily
    roll-up unless `rolled` is false (the same figures, live).
    """
    out: dict[str, dict[str, int]] = {}
    found = rollup.counts(session, "lead", start, end, rolled=rolled)
    for (unit, key), n in measures.totals(found).items():
        out.setdefault(unit, {"led": 0, "returned": 0})[key] = n
    found = rollup.counts(session, "led_ticket", start, end, rolled=rolled)
    for (unit, key), n in measures.totals(found).items():
        entry = out.setdefault(unit, {"led": 0, "returned": 0})
        for name in measures.PAIR_KEYS:
            entry.setdefault(name, 0)
        entry[key] = n
    return out
