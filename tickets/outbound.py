"""Loop steps reported to a ticket's source platform: queued with the step, delivered in order.

A ticket's next report waits until the previous one is delivered; a failed send is retried
with doubling waits and never given up, and each report carries an idempotency key, so the
platform sees every step exactly once even when an answer is lost and the report is sent again.
"""

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from core.db import session_scope
from integrations.notifiers import DeliveryError
from integrations.platform import PlatformClient
from integrations.settings import IntegrationSettings
from models import OutboundEvent, OutboundState, Ticket, TicketAction, id_of, utcnow
from tickets.connectors import Connectors

log = logging.getLogger("qisu.outbound")


def queue(
    session: Session,
    *,
    ticket: Ticket,
    action: TicketAction,
    before: dict[str, Any],
    note: str | None,
    connectors: Connectors,
) -> OutboundEvent | None:
    """Queue the step for the ticket's platform, if it has one that wants this step."""
    connector = connectors.get(ticket.source)
    if connector is None or connector.outbound is None:
        return None
    step = connector.outbound.steps.get(action)
    if step is None:
        return None
    unit = before.get("lead_unit") if action == TicketAction.RETURN else ticket.lead_unit
    payload: dict[str, Any] = {
        "order_id": ticket.external_id,
        "step": step,
        "action": action,
        # The ticket's version grows with every change: the platform can check the order.
        "seq": ticket.version,
        "at": utcnow().isoformat(),
        "unit": connector.platform_unit(unit),
        "status": str(ticket.status),
    }
    if note:
        payload["content"] = note
    if action == TicketAction.REQUEST_EXTENSION:
        payload["days"] = ticket.extension_requested_days
    if action == TicketAction.APPROVE_EXTENSION:
        payload["days"] = ticket.extension_days
    if action == TicketAction.CALLBACK and ticket.satisfaction is not None:
        codes = connector.codes.get("satisfaction", {})
        payload["satisfaction"] = codes.get(str(ticket.satisfaction), str(ticket.satisfaction))
    event = OutboundEvent(
        ticket_id=id_of(ticket),
        source=ticket.source,
        action=action,
        idempotency_key=f"{ticket.source}:{ticket.external_id}:{ticket.version}:{action}",
        payload=payload,
    )
    session.add(event)
    return event


def _backoff(attempts: int, settings: IntegrationSettings) -> timedelta:
    wait = settings.platform_retry_first_seconds * 2 ** (attempts - 1)
    return timedelta(seconds=min(wait, settings.platform_retry_cap_seconds))


def _claim(now: datetime, lease: timedelta, batch: int) -> Any:
    """An UPDATE taking each ticket's first undelivered report, if it is due."""
    earlier = aliased(OutboundEvent)
    waiting = exists().where(
        col(earlier.ticket_id) == col(OutboundEvent.ticket_id),
        col(earlier.id) < col(OutboundEvent.id),
        col(earlier.state) == OutboundState.PENDING,  # delivered or skipped: no longer waits
    )
    due = (
        col(OutboundEvent.state) == OutboundState.PENDING,
        col(OutboundEvent.next_attempt_at) <= now,
    )
    heads = select(col(OutboundEvent.id)).where(*due, ~waiting).order_by(col(OutboundEvent.id))
    # The due conditions are checked again on the row: a rival deliverer's claim moved it.
    return (
        update(OutboundEvent)
        .where(col(OutboundEvent.id).in_(heads.limit(batch).scalar_subquery()), *due)
        .values(next_attempt_at=now + lease, attempts=col(OutboundEvent.attempts) + 1)
        .returning(
            col(OutboundEvent.id),
            col(OutboundEvent.source),
            col(OutboundEvent.idempotency_key),
            col(OutboundEvent.payload),
            col(OutboundEvent.attempts),
        )
    )


def _send(clients: Mapping[str, PlatformClient], row: Any) -> tuple[int, str | None, int]:
    """Send one claimed report; returns its id, the error if any, and its attempts."""
    client = clients.get(row.source)
    error = None
    try:
        if client is None:
            raise DeliveryError(f"no connector for {row.source} in this process")
        client.report(row.payload, key=row.idempotency_key)
    except DeliveryError as exc:
        error = str(exc)[:1000]
    except Exception as exc:  # a broken send must not lose the row or stop the rest
        error = f"{type(exc).__name__}: {exc}"[:1000]
    return row.id, error, row.attempts


def deliver(
    engine: Engine,
    *,
    clients: Mapping[str, PlatformClient],
    settings: IntegrationSettings,
    clock: Callable[[], datetime] = utcnow,
    batch: int = 200,
    budget_seconds: float = 20.0,
) -> tuple[int, int]:
    """Send due reports, each ticket's in order, until none is due; returns (sent, failed)."""
    sent = failed = 0
    started = clock()
    lease = timedelta(seconds=settings.platform_lease_seconds)
    while (clock() - started).total_seconds() < budget_seconds:
        now = clock()
        with session_scope(engine, write=True) as session:
            claimed = session.execute(_claim(now, lease, batch)).all()
        if not claimed:
            break
        # Each claimed row is the head of its own ticket, so sending them at once keeps order.
        with ThreadPoolExecutor(settings.platform_delivery_workers) as pool:
            outcomes = list(pool.map(lambda row: _send(clients, row), claimed))
        done = clock()
        with session_scope(engine, write=True) as session:
            for event_id, error, attempts in outcomes:
                values: dict[str, Any]
                if error is None:
                    values = {
                        "state": OutboundState.DELIVERED,
                        "delivered_at": done,
                        "last_error": None,
                    }
                else:
                    values = {
                        "next_attempt_at": done + _backoff(attempts, settings),
                        "last_error": error,
                    }
                session.execute(
                    update(OutboundEvent).where(col(OutboundEvent.id) == event_id).values(**values)
                )
        round_failed = sum(1 for _, error, _ in outcomes if error)
        sent, failed = sent + len(outcomes) - round_failed, failed + round_failed
        if round_failed:
            log.warning("%s platform reports failed; retried with backoff", round_failed)
    return sent, failed
