"""Operators correct repeat detection: link a ticket to an earlier one, or unlink it."""

from sqlmodel import Session, col, select

from core.errors import Conflict, InvalidInput
from models import RepeatLink, RoutingDecision, Ticket, TicketAction, User, id_of, utcnow
from tickets import audit, service
from tickets.connectors import Connectors


def _intake_decision(session: Session, *, ticket_id: int) -> RoutingDecision | None:
    query = select(RoutingDecision).where(
        RoutingDecision.ticket_id == ticket_id, RoutingDecision.trigger == "intake"
    )
    return session.exec(query.order_by(col(RoutingDecision.id))).first()


def _system_view(
    session: Session, *, ticket_id: int, earlier_id: int
) -> tuple[float | None, int | None]:
    """The score the system had for the pair at intake, and the root it linked the ticket to."""
    decision = _intake_decision(session, ticket_id=ticket_id)
    if decision is None:
        return None, None
    scores = {row["ticket_id"]: row["score"] for row in decision.repeat_scores or []}
    scores |= {
        r["ticket_id"]: r["similarity"] for r in decision.repeats if r["ticket_id"] not in scores
    }
    linked = decision.repeats[0]["root_id"] if decision.repeats else None
    return scores.get(earlier_id), linked


def link(
    session: Session,
    *,
    ticket_id: int,
    earlier_id: int,
    user: User,
    connectors: Connectors,
    version: int | None = None,
) -> Ticket:
    """The ticket repeats an earlier one: it joins that one's chain (its repeats follow)."""
    ticket = _current(session, ticket_id=ticket_id, user=user, version=version)
    if earlier_id == ticket_id:
        raise InvalidInput("a ticket cannot repeat itself", field="ticket_id")
    earlier = service.get_ticket(session, ticket_id=earlier_id, user=user)
    if earlier.received_at > ticket.received_at:
        raise InvalidInput(
            f"ticket {earlier_id} came in after ticket {ticket_id}; link the later one to the "
            "earlier one",
            field="ticket_id",
        )
    root = earlier.repeat_of or id_of(earlier)
    if root == ticket_id:
        raise Conflict(f"ticket {earlier_id} already repeats ticket {ticket_id}")
    if ticket.repeat_of == root:
        raise Conflict(f"ticket {ticket_id} is already in the chain of ticket {root}")
    score, system_root = _system_view(session, ticket_id=ticket_id, earlier_id=earlier_id)
    before = audit.snapshot(ticket)
    # A ticket that was a chain's root brings its repeats along into the new chain.
    followers = list(session.exec(select(Ticket).where(col(Ticket.repeat_of) == ticket_id)))
    for follower in followers:
        follower.repeat_of = root
        session.add(follower)
    earlier_in_chain = session.exec(
        select(Ticket.id).where(
            (col(Ticket.repeat_of) == root) | (col(Ticket.id) == root),
            col(Ticket.received_at) < ticket.received_at,
            col(Ticket.id) != ticket_id,
        )
    ).all()
    ticket.repeat_of, ticket.repeat_count = root, len(earlier_in_chain)
    session.add(
        RepeatLink(
            ticket_id=ticket_id, earlier_id=earlier_id, linked=True, root_id=root, score=score,
            system_root=system_root, user_id=id_of(user),
        )
    )  # fmt: skip
    return _finish(
        session, ticket, user, before, f"a repeat of ticket {earlier_id} (chain {root})", connectors
    )


def unlink(
    session: Session,
    *,
    ticket_id: int,
    user: User,
    connectors: Connectors,
    version: int | None = None,
) -> Ticket:
    """The ticket is not a repeat: it leaves its chain."""
    ticket = _current(session, ticket_id=ticket_id, user=user, version=version)
    if ticket.repeat_of is None:
        raise Conflict(f"ticket {ticket_id} is not linked as a repeat")
    root = ticket.repeat_of
    score, system_root = _system_view(session, ticket_id=ticket_id, earlier_id=root)
    before = audit.snapshot(ticket)
    ticket.repeat_of, ticket.repeat_count = None, 0
    session.add(
        RepeatLink(
            ticket_id=ticket_id, earlier_id=root, linked=False, root_id=None, score=score,
            system_root=system_root, user_id=id_of(user),
        )
    )  # fmt: skip
    return _finish(session, ticket, user, before, f"not a repeat of ticket {root}", connectors)


def _current(session: Session, *, ticket_id: int, user: User, version: int | None) -> Ticket:
    ticket = service.get_ticket(session, ticket_id=ticket_id, user=user)
    if version is not None and version != ticket.version:
        raise Conflict(
            f"ticket {ticket_id} changed since version {version} (it is now at {ticket.version}); "
            "reload it and try again"
        )
    return ticket


def _finish(
    session: Session,
    ticket: Ticket,
    user: User,
    before: dict,
    note: str,
    connectors: Connectors,
) -> Ticket:
    ticket.updated_at = utcnow()
    session.add(ticket)
    session.flush()
    audit.record(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=TicketAction.REPEAT_OF,
        before=before,
        note=note,
    )
    return ticket
