"""Scheduled work on deadlines and the outbox: warn, breach and escalate; deliver notifications.

Every claim is a conditional UPDATE that only a row still in the expected state passes, so two
schedulers never act on one row; each batch commits as a whole, so a crash loses nothing and
the next sweep picks up exactly what was left.
"""

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, String, case, insert, select, type_coerce, update
from sqlalchemy.engine import Row
from sqlmodel import Session, col

from core import metrics
from core.db import session_scope
from integrations.notifiers import DeliveryError, Message, Notifier
from models import (
    OPEN_STATUSES,
    Deadline,
    DeadlineStatus,
    DeliveryState,
    Notification,
    Stage,
    Ticket,
    TicketEvent,
    Whistle,
    WhistleEvent,
)
from tickets.policy import SlaPolicy
from tickets.working_time import SHANGHAI

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
MAX_ATTEMPTS = 10
DIGEST_LINES = 20  # a message lists this many deadlines, then counts the rest
LEASE = timedelta(minutes=2)  # a claimed message is retried if its sender died
# Core statements on the tables: the ORM's bulk paths cost more than the database here.
DEADLINES = Deadline.__table__  # type: ignore[attr-defined]
TICKETS = Ticket.__table__  # type: ignore[attr-defined]
WHISTLES = Whistle.__table__  # type: ignore[attr-defined]
WHISTLE_EVENTS = insert(WhistleEvent.__table__)  # type: ignore[attr-defined]
EVENTS = insert(TicketEvent.__table__)  # type: ignore[attr-defined]
OUTBOX = insert(Notification.__table__)  # type: ignore[attr-defined]


@dataclass
class SweepResult:
    """What one sweep did."""

    warned: int = 0
    breached: int = 0
    windows_closed: int = 0


def _claim(values: dict[str, Any], *conditions: Any, batch: int) -> Any:
    """An UPDATE moving up to `batch` matching deadlines; it returns only the rows it won."""
    chosen = select(col(Deadline.id)).where(*conditions).order_by(col(Deadline.due_at)).limit(batch)
    # The conditions are repeated outside the subquery: a row another sweeper changed meanwhile
    # fails them on re-check (PostgreSQL re-evaluates the WHERE after waiting for the row lock).
    statement = (
        update(DEADLINES)
        .where(col(Deadline.id).in_(chosen.scalar_subquery()), *conditions)
        .values(**values)
        .returning(
            col(Deadline.id),
            col(Deadline.ticket_id),
            col(Deadline.whistle_id),
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


def _subject(row: Row[Any]) -> str:
    """How a message names what the deadline times."""
    if row.whistle_id is not None:
        return f"吹哨 {row.whistle_id} 中 {row.unit_code} 的{STAGE_NAMES[row.stage]}"
    return f"工单 {row.ticket_id} 的{STAGE_NAMES[row.stage]}"


def _record(session: Session, rows: Sequence[Row[Any]], events: list[dict[str, Any]]) -> None:
    """Write each row's event to its ticket's or its whistle's history."""
    tickets = [e for r, e in zip(rows, events, strict=True) if r.whistle_id is None]
    whistles = [
        {
            "whistle_id": r.whistle_id,
            "at": e["at"],
            "actor_id": None,
            "actor_name": "system",
            "action": e["action"],
            "unit_code": r.unit_code,
            "note": json.dumps(e["after"], ensure_ascii=False),
        }
        for r, e in zip(rows, events, strict=True)
        if r.whistle_id is not None
    ]
    if tickets:
        session.connection().execute(EVENTS, tickets)
    if whistles:
        session.connection().execute(WHISTLE_EVENTS, whistles)


def _warn_batch(engine: Engine, *, policy: SlaPolicy, now: datetime, batch: int) -> int:
    conditions = (
        col(Deadline.status) == DeadlineStatus.PENDING,
        col(Deadline.stage) != Stage.RETURN_WINDOW,
        col(Deadline.warn_at) <= now,
        col(Deadline.due_at) > now,
    )
    statement = _claim(
        {"status": DeadlineStatus.WARNED, "warned_at": now}, *conditions, batch=batch
    )
    with session_scope(engine, write=True) as session:
        rows = session.execute(statement).all()
        if rows:
            _record(session, rows, [_event(r, "deadline_warned", now, {}, {}) for r in rows])
            by_unit: dict[str, list[Row[Any]]] = {}
            for r in rows:
                by_unit.setdefault(_recipient(r.unit_code), []).append(r)
            header = "【预警】以下 {n} 项即将到期，请抓紧办理："
            session.connection().execute(
                OUTBOX,
                [
                    _digest(to, "deadline_warned", header, items, now, "到期")
                    for to, items in by_unit.items()
                ],
            )
    return len(rows)


def _escalate(session: Session, table: Any, steps: Counter[int], top: int) -> dict[int, int]:
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


def _breach_batch(engine: Engine, *, policy: SlaPolicy, now: datetime, batch: int) -> int:
    conditions = (
        col(Deadline.status).in_(OPEN_STATUSES),
        col(Deadline.stage) != Stage.RETURN_WINDOW,
        col(Deadline.due_at) <= now,
    )
    statement = _claim(
        {"status": DeadlineStatus.BREACHED, "breached_at": now}, *conditions, batch=batch
    )
    with session_scope(engine, write=True) as session:
        rows = session.execute(statement).all()
        if not rows:
            return 0
        ticket_steps = Counter(r.ticket_id for r in rows if r.whistle_id is None)
        whistle_steps = Counter(r.whistle_id for r in rows if r.whistle_id is not None)
        ticket_levels = _escalate(session, TICKETS, ticket_steps, policy.top_level)
        whistle_levels = _escalate(session, WHISTLES, whistle_steps, policy.top_level)
        events = []
        digests: dict[tuple[str, int], list[Row[Any]]] = {}
        for r in rows:
            if r.whistle_id is None:
                level, step = ticket_levels[r.ticket_id], ticket_steps[r.ticket_id]
            else:
                level, step = whistle_levels[r.whistle_id], whistle_steps[r.whistle_id]
            before = {"escalation_level": max(level - step, 0)}
            events.append(_event(r, "deadline_breached", now, before, {"escalation_level": level}))
            escalation = policy.escalation_level(level)
            targets = {_recipient(r.unit_code)}
            if escalation and escalation.notify != "unit":
                targets.add(escalation.notify)
            for target in targets:
                digests.setdefault((target, level), []).append(r)
        _record(session, rows, events)
        messages = []
        for (target, level), items in sorted(digests.items()):
            escalation = policy.escalation_level(level)
            name = escalation.name if escalation else "督办"
            header = f"【督办】以下 {{n}} 项已超时，升级为{name}（第 {level} 级）："
            messages.append(
                _digest(target, "deadline_breached", header, items, now, "前应完成", level=level)
            )
        session.connection().execute(OUTBOX, messages)
    return len(rows)


def _close_windows(engine: Engine, *, now: datetime, batch: int) -> int:
    """A return window that ran out ends quietly: no warning, no escalation."""
    conditions = (
        col(Deadline.status) == DeadlineStatus.PENDING,
        col(Deadline.stage) == Stage.RETURN_WINDOW,
        col(Deadline.due_at) <= now,
    )
    statement = _claim({"status": DeadlineStatus.MET, "closed_at": now}, *conditions, batch=batch)
    with session_scope(engine, write=True) as session:
        return len(session.execute(statement).all())


def _event(
    row: Row[Any], action: str, now: datetime, before: dict[str, Any], after: dict[str, Any]
) -> dict[str, Any]:
    due = row.due_at.isoformat() if row.due_at else None
    return {
        "ticket_id": row.ticket_id,
        "at": now,
        "actor_id": None,
        "actor_name": "system",
        "action": action,
        "before": before,
        "after": {**after, "stage": str(row.stage), "due_at": due, "unit": row.unit_code},
        "note": None,
    }


def _digest(
    recipient: str,
    kind: str,
    header: str,
    rows: list[Row[Any]],
    now: datetime,
    due_word: str,
    **data: Any,
) -> dict[str, Any]:
    """One message listing a batch's deadlines for one recipient: a robot is not flooded."""
    lines = [f"{_subject(r)}（{_local(r.due_at)} {due_word}）" for r in rows[:DIGEST_LINES]]
    if len(rows) > DIGEST_LINES:
        lines.append(f"……另有 {len(rows) - DIGEST_LINES} 项")
    tickets = sorted({r.ticket_id for r in rows if r.ticket_id is not None})
    whistles = sorted({r.whistle_id for r in rows if r.whistle_id is not None})
    return {
        "created_at": now,
        "recipient": recipient,
        "kind": kind,
        "ticket_id": tickets[0] if len(tickets) == 1 and not whistles else None,
        "text": "\n".join([header.format(n=len(rows)), *lines]),
        "data": {"deadlines": len(rows), "tickets": tickets, "whistles": whistles, **data},
        "state": DeliveryState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
    }


def sweep(
    engine: Engine,
    *,
    policy: SlaPolicy,
    now: datetime,
    batch: int = 5000,
    progress: Callable[[str], None] | None = None,
) -> SweepResult:
    """Warn, breach and close windows for everything due at `now`, batch by batch."""
    result = SweepResult()
    started = time.monotonic()
    for field, step in (
        ("breached", lambda: _breach_batch(engine, policy=policy, now=now, batch=batch)),
        ("warned", lambda: _warn_batch(engine, policy=policy, now=now, batch=batch)),
        ("windows_closed", lambda: _close_windows(engine, now=now, batch=batch)),
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


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30) * 2 ** (attempts - 1), timedelta(hours=1))


def deliver(
    engine: Engine, *, notifiers: Sequence[Notifier], now: datetime, batch: int = 100
) -> tuple[int, int]:
    """Send due outbox messages; returns (delivered, failed attempts). Never raises for a send."""
    due = (
        col(Notification.state) == DeliveryState.PENDING,
        col(Notification.next_attempt_at) <= now,
    )
    chosen = select(col(Notification.id)).where(*due).order_by(col(Notification.id)).limit(batch)
    claim = (
        update(Notification)
        .where(col(Notification.id).in_(chosen.scalar_subquery()), *due)
        .values(next_attempt_at=now + LEASE, attempts=col(Notification.attempts) + 1)
        .returning(
            col(Notification.id),
            col(Notification.recipient),
            col(Notification.kind),
            col(Notification.text),
            col(Notification.data),
            col(Notification.attempts),
        )
    )
    with session_scope(engine, write=True) as session:
        claimed = session.execute(claim).all()
    outcomes: list[tuple[int, str | None, int]] = []
    for row in claimed:
        message = Message(recipient=row.recipient, kind=row.kind, text=row.text, data=row.data)
        error = None
        for notifier in notifiers:
            try:
                notifier.send(message)
            except DeliveryError as exc:
                error = str(exc)[:1000]
            except Exception as exc:  # a broken notifier must not stop the others or lose the row
                error = f"{type(exc).__name__}: {exc}"[:1000]
        outcomes.append((row.id, error, row.attempts))
    with session_scope(engine, write=True) as session:
        delivered = [message_id for message_id, error, _ in outcomes if error is None]
        if delivered:  # one UPDATE for every message sent, not one each
            session.execute(
                update(Notification)
                .where(col(Notification.id).in_(delivered))
                .values(state=DeliveryState.DELIVERED, delivered_at=now, last_error=None)
            )
        for message_id, error, attempts in outcomes:
            if error is None:
                continue
            if attempts >= MAX_ATTEMPTS:
                values: dict[str, Any] = {"state": DeliveryState.FAILED, "last_error": error}
                log.error("通知 %s 已尝试 %s 次仍未送达，不再重试：%s", message_id, attempts, error)
            else:
                values = {"next_attempt_at": now + _backoff(attempts), "last_error": error}
            session.execute(
                update(Notification).where(col(Notification.id) == message_id).values(**values)
            )
    failed = sum(1 for _, error, _ in outcomes if error)
    metrics.DELIVERY_FAILURES.inc(failed)
    return len(outcomes) - failed, failed
