"""The sweep: warn, breach and escalate every deadline due, whatever subject it times.

Every claim is a conditional UPDATE that only a row still in the expected state passes, so two
schedulers never act on one row; each batch commits as a whole, so a crash loses nothing and
the next sweep picks up exactly what was left. What a deadline times (a ticket, a whistle) is
a `Subject` its own domain describes: the sweep raises its 督办 level and asks it to write the
events to its history.
"""

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Engine,
    String,
    Table,
    bindparam,
    case,
    insert,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.engine import Row
from sqlmodel import Session, col

from core import metrics
from core.db import session_scope
from core.timezone import SHANGHAI
from deadlines.policy import SlaPolicy
from models import (
    OPEN_STATUSES,
    Deadline,
    DeadlineEvent,
    DeadlineStatus,
    DeliveryState,
    Notification,
    Stage,
)

log = logging.getLogger("qisu.sla")

STAGE_NAMES = {
    Stage.ACKNOWLEDGE: "签收",
    Stage.CONTACT: "先行联系",
    Stage.REPLY: "答复",
    Stage.CALLBACK: "回访",
    Stage.RETURN_WINDOW: "退单期限",
    Stage.REPORT: "报到",
    Stage.OUTCOME: "办理结果",
}
TICKETS_KEY = "tickets"  # the subject an outbox message can link (Notification.ticket_id)
DIGEST_LINES = 20  # a message lists this many deadlines, then counts the rest
# Core statements on the tables: the ORM's bulk paths cost more than the database here.
DEADLINES = Deadline.__table__  # type: ignore[attr-defined]
OUTBOX = insert(Notification.__table__)  # type: ignore[attr-defined]
NOW = bindparam("now", type_=DEADLINES.c.due_at.type)  # the sweep's instant, bound per run
# A swept row and its event: {"at", "action", "before", "after"}.
Swept = tuple[Row[Any], dict[str, Any]]


@dataclass(frozen=True)
class Subject:
    """A kind of thing deadlines time (a ticket, a whistle), as the sweep needs to know it."""

    column: str  # the deadline's column naming it: "ticket_id" or "whistle_id"
    key: str  # its ids' key in a message's data: "tickets" or "whistles"
    table: Table  # its table, whose escalation_level a breach raises
    name: Callable[[Row[Any]], str]  # how a message names a row's deadline
    record: Callable[[Session, list[Swept]], None]  # writes swept events to its history

    def of(self, row: Row[Any]) -> int | None:
        """The id of this subject a swept row times, if it times one."""
        subject_id: int | None = getattr(row, self.column)
        return subject_id


@dataclass
class SweepResult:
    """What one sweep did."""

    warned: int = 0
    breached: int = 0
    windows_closed: int = 0


def _claim(
    values: dict[str, Any], *conditions: Any, subjects: Sequence[Subject], batch: int
) -> Any:
    """An UPDATE moving up to `batch` matching deadlines of these subjects; it returns only the
    rows it won (the sweep's instant is the NOW parameter)."""
    timed = or_(*(col(getattr(Deadline, subject.column)).is_not(None) for subject in subjects))
    conditions = (*conditions, timed)
    chosen = select(col(Deadline.id)).where(*conditions).order_by(col(Deadline.due_at)).limit(batch)
    # The conditions are repeated outside the subquery: a row another sweeper changed meanwhile
    # fails them on re-check (PostgreSQL re-evaluates the WHERE after waiting for the row lock).
    statement = (
        update(DEADLINES)
        .where(col(Deadline.id).in_(chosen.scalar_subquery()), *conditions)
        .values(**values)
        .returning(
            col(Deadline.id),
            *(col(getattr(Deadline, subject.column)) for subject in subjects),
            col(Deadline.unit_code),
            # The plain string: building 10,000 enum members cost more than the SQL.
            type_coerce(col(Deadline.stage), String).label("stage"),
            col(Deadline.due_at),
        )
    )
    return statement


def _local(at: datetime | None) -> str:
    return at.astimezone(SHANGHAI).strftime("%m-%d %H:%M") if at else "?"


def _recipient(unit_code: str | None) -> str:
    return f"unit:{unit_code}" if unit_code else "role:operator"


def _subject(row: Row[Any], subjects: Sequence[Subject]) -> tuple[Subject, int]:
    """What the deadline times, and its id."""
    for subject in subjects:
        subject_id = subject.of(row)
        if subject_id is not None:
            return subject, subject_id
    raise ValueError(f"deadline {row.id} times none of {[s.key for s in subjects]}")


def _record(session: Session, swept: list[Swept], subjects: Sequence[Subject]) -> None:
    """Write each row's event to its subject's history, one batch per subject."""
    for subject in subjects:
        own = [(row, event) for row, event in swept if subject.of(row) is not None]
        if own:
            subject.record(session, own)


@lru_cache(maxsize=16)
def _claims(subjects: tuple[Subject, ...], batch: int) -> dict[str, Any]:
    """The three claims of a sweep, built once: building them cost more than running them."""
    return {
        "warn": _claim(
            {"status": DeadlineStatus.WARNED, "warned_at": NOW},
            col(Deadline.status) == DeadlineStatus.PENDING,
            col(Deadline.stage) != Stage.RETURN_WINDOW,
            col(Deadline.warn_at) <= NOW,
            col(Deadline.due_at) > NOW,
            subjects=subjects,
            batch=batch,
        ),
        "breach": _claim(
            {"status": DeadlineStatus.BREACHED, "breached_at": NOW},
            col(Deadline.status).in_(OPEN_STATUSES),
            col(Deadline.stage) != Stage.RETURN_WINDOW,
            col(Deadline.due_at) <= NOW,
            subjects=subjects,
            batch=batch,
        ),
        "close": _claim(
            {"status": DeadlineStatus.MET, "closed_at": NOW},
            col(Deadline.status) == DeadlineStatus.PENDING,
            col(Deadline.stage) == Stage.RETURN_WINDOW,
            col(Deadline.due_at) <= NOW,
            subjects=subjects,
            batch=batch,
        ),
    }


def _warn_batch(engine: Engine, *, subjects: Sequence[Subject], now: datetime, batch: int) -> int:
    statement = _claims(tuple(subjects), batch)["warn"]
    with session_scope(engine, write=True) as session:
        rows = session.execute(statement, {"now": now}).all()
        if rows:
            _record(
                session, [(r, _event(r, DeadlineEvent.WARNED, now, {}, {})) for r in rows], subjects
            )
            by_unit: dict[str, list[Row[Any]]] = {}
            for r in rows:
                by_unit.setdefault(_recipient(r.unit_code), []).append(r)
            header = "【预警】以下 {n} 项即将到期，请抓紧办理："
            session.connection().execute(
                OUTBOX,
                [
                    _digest(to, DeadlineEvent.WARNED, header, items, now, "到期", subjects=subjects)
                    for to, items in by_unit.items()
                ],
            )
    return len(rows)


def _escalate(session: Session, table: Table, steps: Counter[int], top: int) -> dict[int, int]:
    """Raise each subject's escalation level by its breaches (capped); returns the new levels."""
    if not steps:
        return {}
    by_step: dict[int, list[int]] = {}
    for subject_id, n in steps.items():
        by_step.setdefault(n, []).append(subject_id)
    for n, ids in by_step.items():  # one UPDATE per step size, not per subject
        raised = table.c.escalation_level + n
        session.execute(
            update(table)
            .where(table.c.id.in_(ids))
            .values(escalation_level=case((raised > top, top), else_=raised))
        )
    found = session.execute(
        select(table.c.id, table.c.escalation_level).where(table.c.id.in_(steps))
    )
    return {subject_id: level for subject_id, level in found}


def _breach_batch(
    engine: Engine, *, policy: SlaPolicy, subjects: Sequence[Subject], now: datetime, batch: int
) -> int:
    statement = _claims(tuple(subjects), batch)["breach"]
    with session_scope(engine, write=True) as session:
        rows = session.execute(statement, {"now": now}).all()
        if not rows:
            return 0
        timed = [_subject(r, subjects) for r in rows]
        steps = {s.key: Counter(i for t, i in timed if t is s) for s in subjects}
        levels = {
            s.key: _escalate(session, s.table, steps[s.key], policy.top_level) for s in subjects
        }
        swept: list[Swept] = []
        digests: dict[tuple[str, int], list[Row[Any]]] = {}
        for r, (subject, subject_id) in zip(rows, timed, strict=True):
            level, step = levels[subject.key][subject_id], steps[subject.key][subject_id]
            before = {"escalation_level": max(level - step, 0)}
            after = {"escalation_level": level}
            swept.append((r, _event(r, DeadlineEvent.BREACHED, now, before, after)))
            escalation = policy.escalation_level(level)
            targets = {_recipient(r.unit_code)}
            if escalation and escalation.notify != "unit":
                targets.add(escalation.notify)
            for target in targets:
                digests.setdefault((target, level), []).append(r)
        _record(session, swept, subjects)
        messages = []
        for (target, level), items in sorted(digests.items()):
            escalation = policy.escalation_level(level)
            name = escalation.name if escalation else "督办"
            header = f"【督办】以下 {{n}} 项已超时，升级为{name}（第 {level} 级）："
            messages.append(
                _digest(
                    target,
                    DeadlineEvent.BREACHED,
                    header,
                    items,
                    now,
                    "前应完成",
                    subjects=subjects,
                    level=level,
                )
            )
        session.connection().execute(OUTBOX, messages)
    return len(rows)


def _close_windows(
    engine: Engine, *, subjects: Sequence[Subject], now: datetime, batch: int
) -> int:
    """A return window that ran out ends quietly: no warning, no escalation."""
    statement = _claims(tuple(subjects), batch)["close"]
    with session_scope(engine, write=True) as session:
        return len(session.execute(statement, {"now": now}).all())


def _event(
    row: Row[Any],
    action: DeadlineEvent,
    now: datetime,
    before: dict[str, Any],
    after: dict[str, Any],
) -> dict[str, Any]:
    due = row.due_at.isoformat() if row.due_at else None
    return {
        "at": now,
        "action": action,
        "before": before,
        "after": {**after, "stage": str(row.stage), "due_at": due, "unit": row.unit_code},
    }


def _digest(
    recipient: str,
    kind: str,
    header: str,
    rows: list[Row[Any]],
    now: datetime,
    due_word: str,
    *,
    subjects: Sequence[Subject],
    **data: Any,
) -> dict[str, Any]:
    """One message listing a batch's deadlines for one recipient: a robot is not flooded."""
    lines = [
        f"{_subject(r, subjects)[0].name(r)}（{_local(r.due_at)} {due_word}）"
        for r in rows[:DIGEST_LINES]
    ]
    if len(rows) > DIGEST_LINES:
        lines.append(f"……另有 {len(rows) - DIGEST_LINES} 项")
    ids = {s.key: sorted({i for r in rows if (i := s.of(r)) is not None}) for s in subjects}
    # A message about one ticket alone links it (the outbox's ticket_id).
    tickets = ids.get(TICKETS_KEY, [])
    others = any(found for key, found in ids.items() if key != TICKETS_KEY)
    return {
        "created_at": now,
        "recipient": recipient,
        "kind": kind,
        "ticket_id": tickets[0] if len(tickets) == 1 and not others else None,
        "text": "\n".join([header.format(n=len(rows)), *lines]),
        "data": {"deadlines": len(rows), **ids, **data},
        "state": DeliveryState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
    }


def sweep(
    engine: Engine,
    *,
    policy: SlaPolicy,
    subjects: Sequence[Subject],
    now: datetime,
    batch: int = 5000,
    progress: Callable[[str], None] | None = None,
) -> SweepResult:
    """Warn, breach and close windows for everything due at `now`, batch by batch; `subjects`
    are every kind of thing a deadline may time."""
    result = SweepResult()
    started = time.monotonic()
    for field, step in (
        (
            "breached",
            lambda: _breach_batch(engine, policy=policy, subjects=subjects, now=now, batch=batch),
        ),
        ("warned", lambda: _warn_batch(engine, subjects=subjects, now=now, batch=batch)),
        ("windows_closed", lambda: _close_windows(engine, subjects=subjects, now=now, batch=batch)),
    ):
        while True:
            done = step()
            setattr(result, field, getattr(result, field) + done)
            if done and progress:
                progress(f"{field}: {getattr(result, field)}")
            if done < batch:
                break
    elapsed = time.monotonic() - started
    metrics.SWEEP_SECONDS.observe(elapsed)
    metrics.LAST_SWEEP.set(time.time())
    for outcome in ("warned", "breached", "windows_closed"):
        metrics.SWEPT_ROWS.labels(outcome).inc(getattr(result, outcome))
    # Every sweep is written, so a silent scheduler is told apart from a quiet day.
    log.info(
        "期限巡检 %s：预警 %d 条，超期 %d 条，关闭退单窗口 %d 条，用时 %.2f 秒",
        now.isoformat(),
        result.warned,
        result.breached,
        result.windows_closed,
        elapsed,
    )
    return result
