"""Turning ticket rows into the API's shapes, with one query per related table."""

from collections.abc import Sequence

from sqlmodel import Session

from models import Assignment, AssignmentRole, AssignmentState, Enterprise, Ticket, TicketEvent
from tickets import repository
from tickets.schemas import (
    AssignmentPublic,
    ContactPublic,
    EnterprisePublic,
    EventPublic,
    TicketPublic,
)

_LIVE = (AssignmentState.ACTIVE, AssignmentState.DONE)


def present_tickets(
    session: Session,
    tickets: Sequence[Ticket],
    names: dict[str, str] | None = None,
    assignments: dict[int, list[Assignment]] | None = None,
) -> list[TicketPublic]:
    """The public form of each ticket, with its enterprise and assignments."""
    if assignments is None:
        ids = [ticket.id for ticket in tickets if ticket.id is not None]
        assignments = repository.assignments_of(session, ticket_ids=ids)
    if names is None:
        names = repository.enterprise_names(session, codes=[t.enterprise_code for t in tickets])
    result = []
    for ticket in tickets:
        own = assignments.get(ticket.id or 0, [])
        result.append(
            TicketPublic(
                **ticket.model_dump(exclude={"contact_name", "contact_phone", "enterprise_code"}),
                enterprise=EnterprisePublic(
                    credit_code=ticket.enterprise_code, name=names.get(ticket.enterprise_code, "")
                ),
                contact=ContactPublic(name=ticket.contact_name, phone=ticket.contact_phone),
                assist_units=[
                    a.unit_code for a in own if a.role == AssignmentRole.ASSIST and a.state in _LIVE
                ],
                assignments=[
                    AssignmentPublic(unit=a.unit_code, **a.model_dump(exclude={"unit_code"}))
                    for a in own
                ],
            )
        )
    return result


def present_ticket(session: Session, ticket: Ticket, *, new: bool = False) -> TicketPublic:
    """The public form of one ticket; a new one has no assignments yet, so none are queried."""
    # The session usually holds the enterprise already, so this costs no query.
    enterprise = session.get(Enterprise, ticket.enterprise_code)
    names = {enterprise.credit_code: enterprise.name} if enterprise else {}
    return present_tickets(session, [ticket], names, {} if new else None)[0]


def present_events(events: Sequence[TicketEvent]) -> list[EventPublic]:
    """The public form of an audit trail."""
    return [
        EventPublic(
            id=e.id or 0,
            at=e.at,
            actor=e.actor_name,
            action=e.action,
            before=e.before,
            after=e.after,
            note=e.note,
        )
        for e in events
    ]
