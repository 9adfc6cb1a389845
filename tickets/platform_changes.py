"""A platform's order that comes again: changed (修改) or withdrawn (撤单), applied to its ticket.

Each version is applied once: an order no newer than the version applied already (by the
platform's revision time) changes nothing, so duplicates and late, out-of-order deliveries are
harmless. A change is an `amend` event with the fields before and after; a withdrawal closes
the ticket as a `withdraw` event. Neither is reported back: the platform made them.
"""

import logging
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from deadlines import clocks
from deadlines.policy import SlaPolicy
from integrations.mapping import OrderChange
from models import (
    AssignmentState,
    PlatformOrder,
    Ticket,
    TicketAction,
    TicketStatus,
    User,
    id_of,
    utcnow,
)
from routing.model import ServingModel
from routing.settings import RoutingSettings
from tickets import audit, repository, service
from tickets.connectors import Connectors
from tickets.schemas import TicketCreate

log = logging.getLogger("qisu.inbound")

# The ticket's fields a platform may change after it dispatched the order.
AMENDABLE = ("title", "text", "address", "contact_name", "contact_phone", "appeal_type", "urgency")


class Outcome(StrEnum):
    """What taking an order in did."""

    CREATED = "created"
    AMENDED = "amended"
    WITHDRAWN = "withdrawn"
    UNCHANGED = "unchanged"
    STALE = "stale"  # older than, or the same as, the version already applied


def _wanted(data: TicketCreate) -> dict[str, Any]:
    return {
        "title": data.title,
        "text": data.text,
        "address": data.address,
        "contact_name": data.contact.name,
        "contact_phone": data.contact.phone,
        "appeal_type": data.appeal_type,
        "urgency": data.urgency,
    }


def _amend(
    session: Session, *, ticket: Ticket, data: TicketCreate, user: User, connectors: Connectors
) -> bool:
    """Apply the order's changed fields; an `amend` event records them before and after."""
    wanted = _wanted(data)
    changed = {name: value for name, value in wanted.items() if getattr(ticket, name) != value}
    if not changed:
        return False
    before = {**audit.snapshot(ticket), **{name: getattr(ticket, name) for name in changed}}
    for name, value in changed.items():
        setattr(ticket, name, value)
    ticket.updated_at = utcnow()
    session.add(ticket)
    session.flush()
    audit.record(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=TicketAction.AMEND,
        before=before,
        note="平台修改工单：" + "、".join(sorted(changed)),
        extra={name: ticket_value(ticket, name) for name in changed},
    )
    return True


def ticket_value(ticket: Ticket, name: str) -> Any:
    """A field's value as the audit trail stores it (enums as their codes)."""
    value = getattr(ticket, name)
    return str(value) if isinstance(value, StrEnum) else value


def _withdraw(
    session: Session, *, ticket: Ticket, user: User, reason: str | None, connectors: Connectors
) -> bool:
    """撤单: the platform took the order back; the ticket closes and its clocks stop."""
    if ticket.status == TicketStatus.CLOSED:
        return False
    before = audit.snapshot(ticket)
    now = utcnow()
    for assignment in repository.active_assignments(session, ticket_id=id_of(ticket)):
        assignment.state = AssignmentState.CANCELLED
        session.add(assignment)
    clocks.cancel(session, ticket_id=id_of(ticket), now=now)
    ticket.status, ticket.closed_at, ticket.updated_at = TicketStatus.CLOSED, now, now
    session.add(ticket)
    session.flush()
    note = f"平台撤单：{reason}" if reason else "平台撤单"
    audit.record(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=TicketAction.WITHDRAW,
        before=before,
        note=note,
    )
    return True


def _remember(
    session: Session, *, row: PlatformOrder | None, data: TicketCreate, ticket: Ticket,
    change: OrderChange,
) -> None:  # fmt: skip
    if row is None:
        row = PlatformOrder(
            source=data.source, external_id=data.external_id, ticket_id=id_of(ticket)
        )
    row.revision = change.revision or row.revision
    row.state, row.updated_at = change.state, utcnow()
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # a rival delivery of the same order recorded it first
        pass


def take_in(
    session: Session,
    *,
    data: TicketCreate,
    change: OrderChange,
    user: User,
    connectors: Connectors,
    policy: SlaPolicy,
    routing: RoutingSettings,
    serving: ServingModel,
) -> tuple[Ticket, bool, Outcome]:
    """A new order through intake; a known one's newer version applied to its ticket."""
    key = (data.source, data.external_id)
    row = session.get(PlatformOrder, key, with_for_update=True)
    ticket = session.get(Ticket, row.ticket_id) if row else None
    ticket = ticket or repository.ticket_by_source(
        session, source=data.source, external_id=data.external_id
    )
    if ticket is None:
        ticket, created = service.intake(
            session,
            serving=serving,
            connectors=connectors,
            data=data,
            user=user,
            policy=policy,
            routing=routing,
        )
        outcome = Outcome.CREATED if created else Outcome.UNCHANGED
        if created and change.state == "withdrawn":
            _withdraw(
                session, connectors=connectors, ticket=ticket, user=user, reason=change.reason
            )
            outcome = Outcome.WITHDRAWN
        _remember(session, row=row, data=data, ticket=ticket, change=change)
        return ticket, created, outcome
    if (ticket.source, ticket.external_id) != key:
        # Merged into an earlier appeal at intake: that appeal is not the platform's to change.
        return ticket, False, Outcome.UNCHANGED
    if row and row.revision and change.revision and change.revision <= row.revision:
        return ticket, False, Outcome.STALE
    # An unversioned order is compared by its content alone.
    outcome = Outcome.UNCHANGED
    if _amend(session, connectors=connectors, ticket=ticket, data=data, user=user):
        outcome = Outcome.AMENDED
    if change.state == "withdrawn" and _withdraw(
        session, connectors=connectors, ticket=ticket, user=user, reason=change.reason
    ):
        outcome = Outcome.WITHDRAWN
    if outcome != Outcome.UNCHANGED:
        log.info("order %s/%s %s (ticket %s)", *key, outcome, ticket.id)
    _remember(session, row=row, data=data, ticket=ticket, change=change)
    return ticket, False, outcome
