"""Scheduled work on deadlines and the outbox: warn, breach and escalate; deliver notifications.

Every claim is a conditional UPDATE that only a row still in the expected state passes, so two
schedulers never act on one row; each batch commits as a whole, so a crash loses nothing and
the next sweep picks up exactly what was left.
"""

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, insert, select, update
from sqlalchemy.engine import Row
from sqlmodel import col

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
}
MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=2)  # a claimed message is retried if its sender died
# Core statements on the tables: the ORM's bulk paths cost more than the database here.
DEADLINES = Deadline.__table__  # type: ignore[attr-defined]
TICKETS = Ticket.__table__  # type: ignore[attr-defined]
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
            col(Deadline.unit_code),
            col(Deadline.stage),
            col(Deadline.due_at),
        )
    )
    return statement


def _local(at: datetime | None) -> str:
    return at.astimezone(SHANGHAI).strftime("%m-%d %H:%M") if at else "?"


def _recipient(unit_code: str | None) -> str:
    return f"unit:{unit_code}" if unit_code else "role:operator"


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
            session.connection().execute(
                EVENTS, [_event(r, "deadline_warned", now, {}, {}) for r in rows]
            )
            session.connection().execute(
                OUTBOX,
                [
                    _notification(
                        r,
                        _recipient(r.unit_code),
                        "deadline_warned",
                        f"【预警】工单 {r.ticket_id} 的{STAGE_NAMES[r.stage]}"
                        f"将于 {_local(r.due_at)} 到期，请抓紧办理。",
                        now,
                    )
                    for r in rows
                ],
            )
    return len(rows)


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
        steps = Counter(r.ticket_id for r in rows)
        by_step: dict[int, list[int]] = {}
        for ticket_id, n in steps.items():
            by_step.setdefault(n, []).append(ticket_id)
        for n, ticket_ids in by_step.items():  # one UPDATE per step size, not per ticket
            raised = col(Ticket.escalation_level) + n
            session.execute(
                update(TICKETS)
                .where(col(Ticket.id).in_(ticket_ids))
                .values(
                    escalation_level=case(
                        (raised > policy.top_level, policy.top_level), else_=raised
                    )
                )
            )
        levels: dict[int, int] = dict(
            session.execute(
                select(col(Ticket.id), col(Ticket.escalation_level)).where(
                    col(Ticket.id).in_(steps)
                )
            ).all()
        )
        events, messages = [], []
        for r in rows:
            level = levels[r.ticket_id]
            before = {"escalation_level": max(level - steps[r.ticket_id], 0)}
            events.append(_event(r, "deadline_breached", now, before, {"escalation_level": level}))
            escalation = policy.escalation_level(level)
            name = escalation.name if escalation else "督办"
            text = (
                f"【督办】工单 {r.ticket_id} 的{STAGE_NAMES[r.stage]}已超时"
                f"（应于 {_local(r.due_at)} 前完成），升级为{name}（第 {level} 级）。"
            )
            targets = {_recipient(r.unit_code)}
            if escalation and escalation.notify != "unit":
                targets.add(escalation.notify)
            messages += [
                _notification(r, t, "deadline_breached", text, now, level=level)
                for t in sorted(targets)
            ]
        session.connection().execute(EVENTS, events)
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


def _notification(
    row: Row[Any], recipient: str, kind: str, text: str, now: datetime, **data: Any
) -> dict[str, Any]:
    return {
        "created_at": now,
        "recipient": recipient,
        "kind": kind,
        "ticket_id": row.ticket_id,
        "text": text,
        "data": {"stage": str(row.stage), "unit": row.unit_code, **data},
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
    if result.warned or result.breached:
        log.info(
            "sweep at %s: %s warned, %s breached", now.isoformat(), result.warned, result.breached
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
        for message_id, error, attempts in outcomes:
            if error is None:
                values: dict[str, Any] = {
                    "state": DeliveryState.DELIVERED,
                    "delivered_at": now,
                    "last_error": None,
                }
            elif attempts >= MAX_ATTEMPTS:
                values = {"state": DeliveryState.FAILED, "last_error": error}
                log.error(
                    "notification %s given up after %s attempts: %s", message_id, attempts, error
                )
            else:
                values = {"next_attempt_at": now + _backoff(attempts), "last_error": error}
            session.execute(
                update(Notification).where(col(Notification.id) == message_id).values(**values)
            )
    failed = sum(1 for _, error, _ in outcomes if error)
    return len(outcomes) - failed, failed
