"""Turning ticket rows into the API's shapes, with one query per related table."""

from collections.abc import Sequence

from sqlmodel import Session

from deadlines import clocks
from deadlines.working_time import WorkingCalendar
from models import (
    Assignment,
    AssignmentRole,
    AssignmentState,
    Deadline,
    Enterprise,
    Role,
    RoutingDecision,
    Ticket,
    TicketEvent,
    User,
    id_of,
    utcnow,
)
from routing import service as routing_service
from tickets import repository
from tickets.lights import Light
from tickets.schemas import (
    AssignmentPublic,
    CandidatePublic,
    ContactPublic,
    DeadlinePublic,
    EnterprisePublic,
    EventPublic,
    RepeatPublic,
    RoutingPublic,
    TicketPublic,
)

_LIVE = (AssignmentState.ACTIVE, AssignmentState.DONE)
# Who reads a contact in full (PIPL: only those who call the enterprise back).
_DESK = (Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN)


def mask_name(name: str) -> str:
    """The surname only: 王小明 -> 王**."""
    return name[:1] + "*" * max(len(name) - 1, 2)


def mask_phone(phone: str) -> str:
    """The first three and last four digits: 13900000001 -> 139****0001."""
    digits = [c for c in phone if c.isdigit()]
    if len(digits) < 8:
        return "*" * len(phone)
    return "".join(digits[:3]) + "****" + "".join(digits[-4:])


def sees_contact(ticket: Ticket, viewer: User) -> bool:
    """Whether the viewer reads the ticket's contact in full: the desk and the lead unit."""
    return viewer.role in _DESK or bool(viewer.unit_code and viewer.unit_code == ticket.lead_unit)


def full_contact(ticket: Ticket) -> ContactPublic:
    """The contact as stored (after `qisu data purge`: its anonymised form)."""
    return ContactPublic(name=ticket.contact_name, phone=ticket.contact_phone)


def _contact(ticket: Ticket, viewer: User) -> ContactPublic:
    if sees_contact(ticket, viewer) or ticket.anonymised_at is not None:
        return full_contact(ticket)
    name, phone = mask_name(ticket.contact_name), mask_phone(ticket.contact_phone)
    return ContactPublic(name=name, phone=phone)


def present_tickets(
    session: Session,
    tickets: Sequence[Ticket],
    *,
    viewer: User,
    calendar: WorkingCalendar,
    names: dict[str, str] | None = None,
    assignments: dict[int, list[Assignment]] | None = None,
    clocks: dict[int, list[Deadline]] | None = None,
    decisions: dict[int, RoutingDecision] | None = None,
) -> list[TicketPublic]:
    """The public form of each ticket as `viewer` may read it, with enterprise and assignments
    (the hours left on its deadlines counted on `calendar`)."""
    if assignments is None:
        ids = [ticket.id for ticket in tickets if ticket.id is not None]
        assignments = repository.assignments_of(session, ticket_ids=ids)
    if names is None:
        names = repository.enterprise_names(session, codes=[t.enterprise_code for t in tickets])
    if clocks is None:
        clocks = repository.deadlines_of(session, ticket_ids=[t.id for t in tickets if t.id])
    if decisions is None:
        decisions = routing_service.latest_decisions(
            session, ticket_ids=[t.id for t in tickets if t.id]
        )
    # The lights come from the same SQL that listings filter on and the workbench counts.
    states = repository.clock_states(session, ticket_ids=[t.id for t in tickets if t.id])
    roots = {t.repeat_of or id_of(t) for t in tickets}
    chains = repository.repeat_chains(session, roots=roots)
    result = []
    for ticket in tickets:
        own = assignments.get(id_of(ticket), [])
        chain = chains.get(ticket.repeat_of or id_of(ticket), [])
        rows = clocks.get(id_of(ticket), [])
        shown = {row.id: _deadline(row, calendar) for row in rows}
        light, next_id = states.get(id_of(ticket), (None, None))
        result.append(
            TicketPublic(
                **ticket.model_dump(exclude={"contact_name", "contact_phone", "enterprise_code"}),
                deadlines=list(shown.values()),
                repeat_chain=chain if len(chain) > 1 else [],
                routing=_routing(decisions.get(id_of(ticket))),
                overdue=light == Light.RED,
                light=light,
                next_deadline=shown.get(next_id) if next_id is not None else None,
                calendar_fallback=any(r.fallback for r in rows),
                enterprise=EnterprisePublic(
                    credit_code=ticket.enterprise_code, name=names.get(ticket.enterprise_code, "")
                ),
                contact=_contact(ticket, viewer),
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


def _routing(row: RoutingDecision | None) -> RoutingPublic | None:
    if row is None:
        return None
    return RoutingPublic(
        **row.model_dump(
            exclude={"id", "ticket_id", "created_at", "candidates", "repeats", "repeat_scores"}
        ),
        candidates=[CandidatePublic(**c) for c in row.candidates],
        repeats=[RepeatPublic(**r) for r in row.repeats],
        decided_at=row.created_at,
    )


def _deadline(row: Deadline, calendar: WorkingCalendar) -> DeadlinePublic:
    return DeadlinePublic(
        stage=row.stage,
        unit=row.unit_code,
        status=row.status,
        due_at=row.due_at,
        paused=row.paused_at is not None,
        remaining_hours=clocks.remaining_hours(row, calendar=calendar, now=utcnow()),
        clock_hours=row.clock,
        calendar_fallback=row.fallback,
        started_at=row.started_at,
        warned_at=row.warned_at,
        breached_at=row.breached_at,
        met_at=row.met_at,
    )


def present_ticket(
    session: Session, ticket: Ticket, *, viewer: User, calendar: WorkingCalendar
) -> TicketPublic:
    """The public form of one ticket as `viewer` may read it."""
    # The session usually holds the enterprise already, so this costs no query.
    enterprise = session.get(Enterprise, ticket.enterprise_code)
    names = {enterprise.credit_code: enterprise.name} if enterprise else {}
    return present_tickets(session, [ticket], viewer=viewer, calendar=calendar, names=names)[0]


def present_events(events: Sequence[TicketEvent]) -> list[EventPublic]:
    """The public form of an audit trail."""
    return [
        EventPublic(
            id=id_of(e),
            at=e.at,
            actor=e.actor_name,
            action=e.action,
            before=e.before,
            after=e.after,
            note=e.note,
        )
        for e in events
    ]
