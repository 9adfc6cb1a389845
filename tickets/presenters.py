"""Turning ticket rows into the API's shapes, with one query per related table."""

from collections.abc import Sequence

from sqlmodel import Session

from models import (
    Assignment,
    AssignmentRole,
    AssignmentState,
    Deadline,
    DeadlineStatus,
    Enterprise,
    RoutingDecision,
    Ticket,
    TicketEvent,
    utcnow,
)
from tickets import deadlines as deadline_rules
from tickets import repository
from tickets.policy import current_policy
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


def present_tickets(
    session: Session,
    tickets: Sequence[Ticket],
    names: dict[str, str] | None = None,
    assignments: dict[int, list[Assignment]] | None = None,
    clocks: dict[int, list[Deadline]] | None = None,
    decisions: dict[int, RoutingDecision] | None = None,
) -> list[TicketPublic]:
    """The public form of each ticket, with its enterprise and assignments."""
    if assignments is None:
        ids = [ticket.id for ticket in tickets if ticket.id is not None]
        assignments = repository.assignments_of(session, ticket_ids=ids)
    if names is None:
        names = repository.enterprise_names(session, codes=[t.enterprise_code for t in tickets])
    if clocks is None:
        clocks = repository.deadlines_of(session, ticket_ids=[t.id for t in tickets if t.id])
    if decisions is None:
        decisions = repository.latest_decisions(session, ticket_ids=[t.id for t in tickets if t.id])
    roots = {t.repeat_of or t.id or 0 for t in tickets} - {0}
    chains = repository.repeat_chains(session, roots=roots)
    result = []
    for ticket in tickets:
        own = assignments.get(ticket.id or 0, [])
        chain = chains.get(ticket.repeat_of or ticket.id or 0, [])
        rows = clocks.get(ticket.id or 0, [])
        result.append(
            TicketPublic(
                **ticket.model_dump(exclude={"contact_name", "contact_phone", "enterprise_code"}),
                deadlines=[_deadline(row) for row in rows],
                repeat_chain=chain if len(chain) > 1 else [],
                routing=_routing(decisions.get(ticket.id or 0)),
                overdue=any(r.status == DeadlineStatus.BREACHED and r.met_at is None for r in rows),
                calendar_fallback=any(r.fallback for r in rows),
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


def _deadline(row: Deadline) -> DeadlinePublic:
    calendar = current_policy().calendar
    return DeadlinePublic(
        stage=row.stage,
        unit=row.unit_code,
        status=row.status,
        due_at=row.due_at,
        paused=row.paused_at is not None,
        remaining_hours=deadline_rules.remaining_hours(row, calendar=calendar, now=utcnow()),
        clock_hours=row.clock,
        calendar_fallback=row.fallback,
        started_at=row.started_at,
        warned_at=row.warned_at,
        breached_at=row.breached_at,
        met_at=row.met_at,
    )


def present_ticket(session: Session, ticket: Ticket) -> TicketPublic:
    """The public form of one ticket."""
    # The session usually holds the enterprise already, so this costs no query.
    enterprise = session.get(Enterprise, ticket.enterprise_code)
    names = {enterprise.credit_code: enterprise.name} if enterprise else {}
    return present_tickets(session, [ticket], names)[0]


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
