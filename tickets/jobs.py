"""The tickets' scheduled work: their deadlines as the sweep's subject, and the outbox's delivery.

Every claim is a conditional UPDATE that only a row still in the expected state passes, so two
schedulers never send one message twice at once; a message whose sender died is retried after
its lease.
"""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import Row
from sqlmodel import Session, col

from core import metrics
from core.db import session_scope
from deadlines.sweep import STAGE_NAMES, Subject, Swept
from integrations.notifiers import DeliveryError, Message, Notifier
from models import DeliveryState, Notification, Ticket, TicketEvent

log = logging.getLogger("qisu.sla")

MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=2)  # a claimed message is retried if its sender died
EVENTS = insert(TicketEvent.__table__)  # type: ignore[attr-defined]


def _name(row: Row[Any]) -> str:
    return f"工单 {row.ticket_id} 的{STAGE_NAMES[row.stage]}"


def _record(session: Session, swept: list[Swept]) -> None:
    """The sweep's events in the tickets' audit trail, written by the system."""
    rows = [
        {
            "ticket_id": row.ticket_id,
            "actor_id": None,
            "actor_name": "system",
            "note": None,
            **event,
        }
        for row, event in swept
    ]
    session.connection().execute(EVENTS, rows)


SUBJECT = Subject(
    column="ticket_id",
    key="tickets",
    table=Ticket.__table__,  # type: ignore[attr-defined]
    name=_name,
    record=_record,
)


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
