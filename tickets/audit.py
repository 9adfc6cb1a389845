"""The append-only audit trail: what a change did to a ticket, written with the change."""

from typing import Any

from sqlmodel import Session

from models import Ticket, TicketEvent, User
from tickets import outbound

# The fields an audit event records before and after a change.
AUDITED = (
    "status",
    "lead_unit",
    "subdistrict",
    "repeat_of",
    "repeat_count",
    "reopen_count",
    "return_count",
    "extension_requested_days",
    "extension_days",
    "satisfaction",
    "escalation_level",
)


def snapshot(ticket: Ticket) -> dict[str, Any]:
    """The audited fields of a ticket as they are now."""
    return {name: getattr(ticket, name) for name in AUDITED}


def record(
    session: Session,
    *,
    ticket: Ticket,
    user: User | None,
    action: str,
    before: dict[str, Any],
    note: str | None = None,
    extra: dict[str, Any] | None = None,
) -> TicketEvent:
    """One event: who did what, and what changed (everything, for a new ticket)."""
    after = {**snapshot(ticket), **(extra or {})}
    # A new ticket records all it starts with; a change records only what it changed.
    changed = {key for key in after if not before or before.get(key, after[key]) != after[key]}
    event = TicketEvent(
        ticket_id=ticket.id or 0,
        actor_id=user.id if user else None,
        actor_name=user.name if user else "system",
        action=action,
        before={key: before[key] for key in sorted(changed) if before},
        after={key: after[key] for key in sorted(changed)},
        note=note,
    )
    session.add(event)
    # The step's report to the ticket's source platform commits with the step, or not at all.
    outbound.queue(session, ticket=ticket, action=action, before=before, note=note)
    return event
