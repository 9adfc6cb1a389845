"""Every query the ticket domain makes."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, String, and_, bindparam, case, false, func, or_, true
from sqlmodel import Session, col, select

from models import (
    AppealType,
    Assignment,
    AssignmentState,
    Channel,
    Deadline,
    Enterprise,
    Role,
    Ticket,
    TicketEvent,
    TicketStatus,
    Urgency,
    User,
)
from routing import service as routing_service
from tickets import lights
from tickets.lights import Light


class Sort(StrEnum):
    """How a listing is ordered; `due_at` is the next open deadline (none last)."""

    RECEIVED_AT = "received_at"
    RECEIVED_AT_DESC = "-received_at"
    DUE_AT = "due_at"
    DUE_AT_DESC = "-due_at"
    ID = "id"
    ID_DESC = "-id"


@dataclass(frozen=True)
class TicketFilter:
    """What a ticket listing is narrowed to."""

    statuses: tuple[TicketStatus, ...] = ()
    unit: str | None = None  # assigned to it, leading or assisting
    lead_unit: str | None = None
    subdistrict: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    overdue: bool | None = None
    light: Light | None = None
    appeal_type: AppealType | None = None
    channel: Channel | None = None
    urgency: Urgency | None = None
    q: str | None = None  # in title, text, enterprise name or credit code
    rule: str | None = None  # the rule of routing's latest decision
    escalation: int | None = None  # 督办 at this level or above
    extension: bool | None = None  # with (true) or without (false) an extension request


def _assigned_to(unit_code: str) -> ColumnElement[bool]:
    assigned = select(Assignment.ticket_id).where(Assignment.unit_code == unit_code)
    return col(Ticket.id).in_(assigned)


def _holds(unit_code: str) -> ColumnElement[bool]:
    """Tickets the unit works on now (or worked on to the end): not returned, not cancelled."""
    live = (AssignmentState.ACTIVE, AssignmentState.DONE)
    holding = select(Assignment.ticket_id).where(
        Assignment.unit_code == unit_code, col(Assignment.state).in_(live)
    )
    return col(Ticket.id).in_(holding)


def visible_to(user: User) -> ColumnElement[bool]:
    """The tickets a user may see: a unit its current assignments, a 街镇 also its own area."""
    if user.role in (Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN):
        return true()
    if user.unit_code is None:
        return false()
    if user.role == Role.SUBDISTRICT:
        return or_(col(Ticket.subdistrict) == user.unit_code, _holds(user.unit_code))
    return _holds(user.unit_code)


def visible_ticket(session: Session, *, ticket_id: int, user: User) -> Ticket | None:
    """The ticket if it exists and the user may see it."""
    if user.role in (Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN):
        return session.get(Ticket, ticket_id)  # no statement when the session holds it already
    if user.unit_code is None:
        return None
    query = _HELD_BY_AREA if user.role == Role.SUBDISTRICT else _HELD_BY_UNIT
    return session.exec(query, params={"ticket_id": ticket_id, "unit": user.unit_code}).first()


# The unit's part is looked up among this ticket's assignments (its ticket_id index), not as the
# list of all the unit's tickets that `visible_to` builds for a listing: that grows with every
# ticket the unit ever held, and SQLite builds it for each single lookup.
_UNIT = bindparam("unit", type_=String)
_HELD: ColumnElement[bool] = _UNIT.in_(
    select(Assignment.unit_code)
    .where(
        col(Assignment.ticket_id) == col(Ticket.id),
        col(Assignment.state).in_((AssignmentState.ACTIVE, AssignmentState.DONE)),
    )
    .correlate(Ticket)
)
_HELD_BY_UNIT = select(Ticket).where(col(Ticket.id) == bindparam("ticket_id"), _HELD)
_HELD_BY_AREA = select(Ticket).where(
    col(Ticket.id) == bindparam("ticket_id"),
    or_(col(Ticket.subdistrict) == _UNIT, _HELD),
)


def ticket_by_source(session: Session, *, source: str, external_id: str) -> Ticket | None:
    """The ticket a source system already handed over under this id."""
    query = select(Ticket).where(Ticket.source == source, Ticket.external_id == external_id)
    return session.exec(query).first()


def _search(q: str) -> ColumnElement[bool]:
    """Case-insensitive substring of the title, the text, the enterprise's name or code."""
    named = select(Enterprise.credit_code).where(col(Enterprise.name).icontains(q, autoescape=True))
    return or_(
        col(Ticket.title).icontains(q, autoescape=True),
        col(Ticket.text).icontains(q, autoescape=True),
        col(Ticket.enterprise_code).icontains(q, autoescape=True),
        col(Ticket.enterprise_code).in_(named),
    )


def conditions(user: User, where: TicketFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a listing: what the user may see, narrowed by the filter."""
    found: list[ColumnElement[bool]] = [visible_to(user)]
    if where.statuses:
        found.append(col(Ticket.status).in_(where.statuses))
    if where.unit is not None:
        found.append(_assigned_to(where.unit))
    if where.lead_unit is not None:
        found.append(col(Ticket.lead_unit) == where.lead_unit)
    if where.subdistrict is not None:
        found.append(col(Ticket.subdistrict) == where.subdistrict)
    if where.received_from is not None:
        found.append(col(Ticket.received_at) >= where.received_from)
    if where.received_to is not None:
        found.append(col(Ticket.received_at) < where.received_to)
    if where.overdue is not None:
        found.append(lights.overdue() if where.overdue else ~lights.overdue())
    if where.light is not None:
        found.append(lights.light_is(where.light))
    if where.appeal_type is not None:
        found.append(col(Ticket.appeal_type) == where.appeal_type)
    if where.channel is not None:
        found.append(col(Ticket.channel) == where.channel)
    if where.urgency is not None:
        found.append(col(Ticket.urgency) == where.urgency)
    if where.q:
        found.append(_search(where.q))
    if where.rule is not None:
        found.append(routing_service.latest_rule_is(where.rule))
    if where.escalation is not None:
        found.append(col(Ticket.escalation_level) >= where.escalation)
    if where.extension is not None:
        requested = col(Ticket.extension_requested_days)
        found.append(requested.is_not(None) if where.extension else requested.is_(None))
    return found


def _ordered(query: Any, sort: Sort) -> Any:
    """The page query in the asked order, ties broken by id."""
    descending = sort.value.startswith("-")
    if sort in (Sort.DUE_AT, Sort.DUE_AT_DESC):
        # A lookup per matching ticket through the covering index: cheap for a unit's tabs,
        # the slowest listing over every ticket (README, Measured).
        due = lights.next_due_at()
        return query.order_by(
            (due.desc() if descending else due.asc()).nulls_last(), col(Ticket.id)
        )
    column = col(Ticket.id) if sort in (Sort.ID, Sort.ID_DESC) else col(Ticket.received_at)
    return query.order_by(column.desc() if descending else column.asc(), col(Ticket.id))


def list_tickets(
    session: Session,
    *,
    user: User,
    where: TicketFilter,
    limit: int,
    offset: int,
    sort: Sort = Sort.RECEIVED_AT_DESC,
) -> tuple[int, list[Ticket]]:
    """One page of the tickets the user may see that match, and the total count."""
    found = conditions(user, where)
    count = session.exec(select(func.count()).select_from(Ticket).where(*found)).one()
    query = _ordered(select(Ticket).where(*found), sort).limit(limit).offset(offset)
    return count, list(session.exec(query))


def clock_states(
    session: Session, *, ticket_ids: Sequence[int]
) -> dict[int, tuple[Light | None, int | None]]:
    """Each ticket's light and the id of its next open deadline."""
    if not ticket_ids:
        return {}
    query = select(Ticket.id, lights.light_column(), lights.next_deadline_id()).where(
        col(Ticket.id).in_(ticket_ids)
    )
    return {
        ticket_id or 0: (Light(light) if light else None, next_id)
        for ticket_id, light, next_id in session.exec(query)
    }


def workbench_counts(session: Session, *, user: User, unit: str | None) -> dict[str, int]:
    """How many tickets each workbench tab holds, for one unit or for all the user may see."""
    lead = col(Ticket.lead_unit) == unit if unit else col(Ticket.lead_unit).is_not(None)
    assigned = _assigned_to(unit) if unit else true()
    tabs: dict[str, ColumnElement[bool]] = {
        "to_acknowledge": and_(
            lead, col(Ticket.status).in_((TicketStatus.DISPATCHED, TicketStatus.REOPENED))
        ),
        "in_progress": and_(
            lead, col(Ticket.status).in_((TicketStatus.ACKNOWLEDGED, TicketStatus.CONTACTED))
        ),
        "warned": and_(assigned, lights.light_is(Light.YELLOW)),
        "overdue": and_(assigned, lights.light_is(Light.RED)),
        "done": and_(
            lead,
            col(Ticket.status).in_(
                (TicketStatus.REPLIED, TicketStatus.VERIFIED, TicketStatus.CLOSED)
            ),
        ),
    }
    query = select(
        *(func.coalesce(func.sum(case((cond, 1), else_=0)), 0) for cond in tabs.values())
    ).where(visible_to(user))
    row = session.exec(query).one()
    return {name: int(value) for name, value in zip(tabs, row, strict=True)}


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


def active_assignments(session: Session, *, ticket_id: int) -> list[Assignment]:
    """The ticket's live assignments."""
    return list(session.exec(_ACTIVE_ASSIGNMENTS, params={"ticket_id": ticket_id}))


# Built once, like the unit's lookup above: the loop runs it at nearly every step.
_ACTIVE_ASSIGNMENTS = (
    select(Assignment)
    .where(
        col(Assignment.ticket_id) == bindparam("ticket_id"),
        col(Assignment.state) == AssignmentState.ACTIVE,
    )
    .order_by(col(Assignment.id))
)


def enterprise(session: Session, *, credit_code: str) -> Enterprise | None:
    """The enterprise with this credit code, if any has raised an appeal."""
    return session.get(Enterprise, credit_code)


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
