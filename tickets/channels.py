"""Notifications that reach people: each outbox message fanned out to the phones and mailboxes
the policy names for its recipient, each sent and retried on its own, apart from the sweeps.
"""

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from core.db import session_scope
from deadlines.policy import SlaPolicy
from integrations.notifiers import DeliveryError, Message
from integrations.settings import IntegrationSettings
from models import ChannelDelivery, DeliveryState, Notification, PlatformCursor, id_of, utcnow

log = logging.getLogger("qisu.channels")

FANOUT_CURSOR = "notify:fan-out"  # the last notification fanned out, kept with the cursors
LEASE = timedelta(minutes=2)
DELIVERIES = ChannelDelivery.__table__  # type: ignore[attr-defined]


class Sender(Protocol):
    """Sends one message to one address or raises DeliveryError."""

    def send(self, address: str, message: Message) -> None:
        """Deliver it."""


def fan_out(engine: Engine, *, policy: SlaPolicy, batch: int = 1000) -> int:
    """Queue a delivery per phone and mailbox for the messages queued since the last run."""
    with session_scope(engine, write=True) as session:
        row = session.get(PlatformCursor, FANOUT_CURSOR) or PlatformCursor(source=FANOUT_CURSOR)
        after = int(row.cursor or 0)
        found = session.execute(
            select(col(Notification.id), col(Notification.recipient))
            .where(col(Notification.id) > after)
            .order_by(col(Notification.id))
            .limit(batch)
        ).all()
        if not found:
            return 0
        rows = [
            {"notification_id": n_id, "channel": channel, "address": address, "state": "pending",
             "attempts": 0, "next_attempt_at": utcnow()}
            for n_id, recipient in found
            for channel, addresses in policy.recipients.get(recipient, {}).items()
            for address in addresses
        ]  # fmt: skip
        if rows:
            session.execute(insert(DELIVERIES), rows)
        row.cursor, row.updated_at = str(found[-1][0]), utcnow()
        session.add(row)
    return len(rows)


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30) * 2 ** (attempts - 1), timedelta(hours=1))


def deliver(
    engine: Engine,
    *,
    senders: dict[str, Sender],
    settings: IntegrationSettings,
    clock: Callable[[], datetime] = utcnow,
    batch: int = 100,
) -> tuple[int, int]:
    """Send due deliveries; returns (delivered, failed attempts). A send never raises."""
    now = clock()
    due = (col(ChannelDelivery.state) == "pending", col(ChannelDelivery.next_attempt_at) <= now)
    chosen = (
        select(col(ChannelDelivery.id)).where(*due).order_by(col(ChannelDelivery.id)).limit(batch)
    )
    claim = (
        update(ChannelDelivery)
        .where(col(ChannelDelivery.id).in_(chosen.scalar_subquery()), *due)
        .values(next_attempt_at=now + LEASE, attempts=col(ChannelDelivery.attempts) + 1)
        .returning(
            col(ChannelDelivery.id),
            col(ChannelDelivery.notification_id),
            col(ChannelDelivery.channel),
            col(ChannelDelivery.address),
            col(ChannelDelivery.attempts),
        )
    )
    with session_scope(engine, write=True) as session:
        claimed = session.execute(claim).all()
        ids = {r.notification_id for r in claimed}
        messages = {
            n.id: Message(recipient=n.recipient, kind=n.kind, text=n.text, data=n.data)
            for n in session.execute(
                select(Notification).where(col(Notification.id).in_(ids))
            ).scalars()
        }

    def send(row: Any) -> tuple[int, str | None, int]:
        sender = senders.get(row.channel)
        try:
            if sender is None:
                raise DeliveryError(f"no {row.channel} channel is configured")
            sender.send(row.address, messages[row.notification_id])
        except DeliveryError as exc:
            return row.id, str(exc)[:1000], row.attempts
        except Exception as exc:  # a broken sender must not lose the row or stop the others
            return row.id, f"{type(exc).__name__}: {exc}"[:1000], row.attempts
        return row.id, None, row.attempts

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(send, claimed))
    done = clock()
    with session_scope(engine, write=True) as session:
        for delivery_id, error, attempts in outcomes:
            values: dict[str, Any]
            if error is None:
                values = {"state": "delivered", "delivered_at": done, "last_error": None}
            elif attempts >= settings.channel_max_attempts:
                values = {"state": "failed", "last_error": error}
                log.error(
                    "delivery %s given up after %s attempts: %s", delivery_id, attempts, error
                )
            else:
                values = {"next_attempt_at": done + _backoff(attempts), "last_error": error}
            session.execute(
                update(ChannelDelivery)
                .where(col(ChannelDelivery.id) == delivery_id)
                .values(**values)
            )
    failed = sum(1 for _, error, _ in outcomes if error)
    return len(outcomes) - failed, failed


def list_notifications(
    session: Session, *, state: DeliveryState | None, limit: int, offset: int
) -> tuple[int, list[tuple[Notification, list[ChannelDelivery]]]]:
    """Messages, newest first, each with its SMS and e-mail deliveries."""
    where = [col(Notification.state) == state] if state else []
    count = session.execute(select(func.count()).select_from(Notification).where(*where)).scalar()
    rows = list(
        session.execute(
            select(Notification).where(*where).order_by(col(Notification.id).desc())
            .limit(limit).offset(offset)
        ).scalars()
    )  # fmt: skip
    deliveries: dict[int, list[ChannelDelivery]] = {}
    if rows:
        for delivery in session.execute(
            select(ChannelDelivery)
            .where(col(ChannelDelivery.notification_id).in_([n.id for n in rows]))
            .order_by(col(ChannelDelivery.id))
        ).scalars():
            deliveries.setdefault(delivery.notification_id, []).append(delivery)
    return int(count or 0), [(n, deliveries.get(id_of(n), [])) for n in rows]
