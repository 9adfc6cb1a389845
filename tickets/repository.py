"""Every query the ticket domain makes."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, true
from sqlmodel import Session, col, select

from models import (
    Assignment,
    AssignmentState,
    Deadline,
    DeadlineStatus,
    Enterprise,
    Role,
    RoutingDecision,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
)


@dataclass(frozen=True)
class TicketFilter:
    """What a ticket listing is narrowed to."""

    status: TicketStatus | None = None
    unit: str | None = None
    subdistrict: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    overdue: bool | None = None
    rule: str | None = None  # the rule of routing's latest decision


def _latest_rule(rule: str) -> ColumnElement[bool]:
    """Tickets whose latest routing decision fired this rule."""
    latest = select(func.max(RoutingDecision.id)).group_by(col(RoutingDecision.ticket_id))
    decided = select(RoutingDecision.ticket_id).where(
        RoutingDecision.rule == rule, col(RoutingDecision.id).in_(latest)
    )
    return col(Ticket.id).in_(decided)


def overdue_condition() -> ColumnElement[bool]:
    """Tickets with a breached deadline that is still not met."""
    breached = select(Deadline.ticket_id).where(
        Deadline.status == DeadlineStatus.BREACHED, col(Deadline.met_at).is_(None)
    )
    return col(Ticket.id).in_(breached)


def _assigned_to(unit_code: str) -> ColumnElement[bool]:
    assigned = select(Assignment.ticket_id).where(Assignment.unit_code == unit_code)
    return col(Ticket.id).in_(assigned)


def visible_to(user: User) -> ColumnElement[bool]:
    """The tickets a user may see: a unit its assignments, a 街镇 also its own area."""
    if user.role in (Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN):
        return true()
    if user.unit_code is None:
        return false()
    if user.role == Role.SUBDISTRICT:
        return or_(col(Ticket.subdistrict) == user.unit_code, _assigned_to(user.unit_code))
    return _assigned_to(user.unit_code)


def visible_ticket(session: Session, *, ticket_id: int, user: User) -> Ticket | None:
    """The ticket if it exists and the user may see it."""
    query = select(Ticket).where(Ticket.id == ticket_id, visible_to(user))
    return session.exec(query).first()


def ticket_by_source(session: Session, *, source: str, external_id: str) -> Ticket | None:
    """The ticket a source system already handed over under this id."""
    query = select(Ticket).where(Ticket.source == source, Ticket.external_id == external_id)
    return session.exec(query).first()


def list_tickets(
    session: Session,
    *,
    user: User,
    where: TicketFilter,
    limit: int,
    offset: int,
    oldest_first: bool,
) -> tuple[int, list[Ticket]]:
    """One page of the tickets the user may see that match, and the total count."""
    conditions: list[Any] = [visible_to(user)]
    if where.status is not None:
        conditions.append(Ticket.status == where.status)
    if where.unit is not None:
        conditions.append(_assigned_to(where.unit))
    if where.subdistrict is not None:
        conditions.append(Ticket.subdistrict == where.subdistrict)
    if where.received_from is not None:
        conditions.append(col(Ticket.received_at) >= where.received_from)
    if where.received_to is not None:
        conditions.append(col(Ticket.received_at) < where.received_to)
    if where.overdue is not None:
        overdue = overdue_condition()
        conditions.append(overdue if where.overdue else ~overdue)
    if where.rule is not None:
        conditions.append(_latest_rule(where.rule))
    count = session.exec(select(func.count()).select_from(Ticket).where(*conditions)).one()
    order = col(Ticket.received_at).asc() if oldest_first else col(Ticket.received_at).desc()
    query = select(Ticket).where(*conditions).order_by(order, col(Ticket.id)).limit(limit)
    return count, list(session.exec(query.offset(offset)))


def assignments_of(session: Session, *, ticket_ids: Sequence[int]) -> dict[int, list[Assignment]]:
    """The assignments of each ticket, oldest first."""
    grouped: dict[int, list[Assignment]] = defaultdict(list)
    if ticket_ids:
        query = (
            select(Assignment)
            .where(col(Assignment.ticket_id).in_(ticket_ids))
            .order_by(col(Assignment.id))
        )
        for assignment in session.exec(query):
            grouped[assignment.ticket_id].append(assignment)
    return grouped


def deadlines_of(session: Session, *, ticket_ids: Sequence[int]) -> dict[int, list[Deadline]]:
    """The deadlines of each ticket, oldest first."""
    grouped: dict[int, list[Deadline]] = defaultdict(list)
    if ticket_ids:
        query = select(Deadline).where(col(Deadline.ticket_id).in_(ticket_ids))
        for row in session.exec(query.order_by(col(Deadline.id))):
            grouped[row.ticket_id or 0].append(row)
    return grouped


def latest_decisions(session: Session, *, ticket_ids: Sequence[int]) -> dict[int, RoutingDecision]:
    """The newest routing decision of each ticket."""
    latest: dict[int, RoutingDecision] = {}
    if ticket_ids:
        query = select(RoutingDecision).where(col(RoutingDecision.ticket_id).in_(ticket_ids))
        for row in session.exec(query.order_by(col(RoutingDecision.id))):
            latest[row.ticket_id] = row
    return latest


def active_assignments(session: Session, *, ticket_id: int) -> list[Assignment]:
    """The ticket's live assignments."""
    query = select(Assignment).where(
        Assignment.ticket_id == ticket_id, Assignment.state == AssignmentState.ACTIVE
    )
    return list(session.exec(query.order_by(col(Assignment.id))))


def enterprise_names(session: Session, *, codes: Sequence[str]) -> dict[str, str]:
    """The name of each enterprise by credit code."""
    if not codes:
        return {}
    query = select(Enterprise.credit_code, Enterprise.name).where(
        col(Enterprise.credit_code).in_(set(codes))
    )
    return dict(session.exec(query).all())


def events_of(session: Session, *, ticket_id: int) -> list[TicketEvent]:
    """The ticket's audit trail in the order it happened."""
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    return list(session.exec(query.order_by(col(TicketEvent.id))))


def repeat_chains(session: Session, *, roots: set[int]) -> dict[int, list[int]]:
    """Each chain's tickets, root first, then its repeats as they came in."""
    if not roots:
        return {}
    query = (
        select(Ticket.id, Ticket.repeat_of)
        .where(col(Ticket.id).in_(roots) | col(Ticket.repeat_of).in_(roots))
        .order_by(col(Ticket.received_at), col(Ticket.id))
    )
    out: dict[int, list[int]] = {root: [root] for root in roots}
    for ticket_id, repeat_of in session.exec(query):
        if repeat_of is not None and ticket_id is not None:
            out[repeat_of].append(ticket_id)
    return out
