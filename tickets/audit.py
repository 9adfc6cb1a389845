"""The append-only audit trail: what a change did to a ticket, written with the change."""

from collections.abc import Iterable
from enum import Enum
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from models import Ticket, TicketAction, TicketEvent, User, id_of, utcnow
from tickets import outbound
from tickets.connectors import Connectors

# Events are only ever appended: a Core INSERT costs a fraction of an ORM object and its flush.
_INSERT = insert(TicketEvent.__table__)  # type: ignore[attr-defined]

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
    action: TicketAction,
    before: dict[str, Any],
    connectors: Connectors,
    note: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """One event: who did what, and what changed (everything, for a new ticket); the step is
    queued for the ticket's platform when one of the `connectors` reports it."""
    after = {**snapshot(ticket), **(extra or {})}
    # A new ticket records all it starts with; a change records only what it changed.
    changed = {key for key in after if not before or before.get(key, after[key]) != after[key]}
    session.connection().execute(
        _INSERT,
        {
            "ticket_id": id_of(ticket),
            "at": utcnow(),
            "actor_id": user.id if user else None,
            "actor_name": user.name if user else "system",
            "action": action,
            "before": {key: before[key] for key in sorted(changed) if before},
            "after": {key: after[key] for key in sorted(changed)},
            "note": note,
        },
    )
    # The step's report to the ticket's source platform commits with the step, or not at all.
    outbound.queue(
        session, ticket=ticket, action=action, before=before, note=note, connectors=connectors
    )


def replay(events: Iterable[TicketEvent]) -> dict[str, Any]:
    """The audited fields as a ticket's events, applied in order, leave them."""
    state: dict[str, Any] = {}
    for event in events:
        state.update({key: value for key, value in event.after.items() if key in AUDITED})
    return state


def unreplayable(session: Session) -> dict[int, dict[str, tuple[Any, Any]]]:
    """Tickets whose stored fields differ from their events' replay: {id: {field: (is, replay)}}."""
    histories: dict[int, list[TicketEvent]] = {}
    for event in session.exec(select(TicketEvent).order_by(col(TicketEvent.id))):
        histories.setdefault(event.ticket_id, []).append(event)
    found = {}
    for ticket in session.exec(select(Ticket)):
        stored = {key: _plain(value) for key, value in snapshot(ticket).items()}
        replayed = replay(histories.get(id_of(ticket), []))
        differing = {
            key: (stored[key], replayed.get(key))
            for key in AUDITED
            if stored[key] != replayed.get(key)
        }
        if differing:
            found[id_of(ticket)] = differing
    return found


def _plain(value: Any) -> Any:
    """A stored value as an event's JSON holds it (enums as their strings)."""
    return value.value if isinstance(value, Enum) else value
