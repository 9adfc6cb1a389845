"""A ticket's traffic light and its next deadline, each defined once, in SQL.

Listings filter on these conditions, the workbench counts them, and the presenters read a
page's lights through the same expressions, so "overdue" and "light" cannot drift apart.
"""

from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_
from sqlmodel import col, select

from models import OPEN_STATUSES, Deadline, DeadlineStatus, Stage, Ticket


class Light(StrEnum):
    """Green: on time; yellow: a deadline warned (80 % used); red: one breached and not met."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


# The 退单 window is a right, not an obligation: it gives no light and is no next deadline.
_TIMED = col(Deadline.stage) != Stage.RETURN_WINDOW


def _breached() -> ColumnElement[bool]:
    """A breached deadline that is still not met: what makes a ticket overdue (`Deadline.overdue`
    in Python)."""
    return and_(col(Deadline.status) == DeadlineStatus.BREACHED, col(Deadline.met_at).is_(None))


def _open() -> ColumnElement[bool]:
    """A deadline still to be met: running (pending or warned) or breached and not met."""
    return and_(_TIMED, or_(col(Deadline.status).in_(OPEN_STATUSES), _breached()))


def _has(condition: ColumnElement[bool], *, per_ticket: bool) -> ColumnElement[bool]:
    """Tickets with a deadline that meets the condition.

    Filtering many tickets, one pass over the matching deadlines (IN) is cheapest; for a page
    of known tickets, looking up each one's deadlines (EXISTS) is.
    """
    if per_ticket:
        return exists().where(col(Deadline.ticket_id) == Ticket.id, _TIMED, condition)
    return col(Ticket.id).in_(select(Deadline.ticket_id).where(_TIMED, condition))


def overdue(*, per_ticket: bool = False) -> ColumnElement[bool]:
    """Tickets with a breached deadline not yet met (light red)."""
    return _has(_breached(), per_ticket=per_ticket)


def light_is(light: Light, *, per_ticket: bool = False) -> ColumnElement[bool]:
    """Tickets whose light is this one."""
    red = overdue(per_ticket=per_ticket)
    warned = _has(col(Deadline.status) == DeadlineStatus.WARNED, per_ticket=per_ticket)
    if light == Light.RED:
        return red
    if light == Light.YELLOW:
        return and_(~red, warned)
    running = _has(col(Deadline.status).in_(OPEN_STATUSES), per_ticket=per_ticket)
    return and_(~red, ~warned, running)


def light_column() -> Any:
    """Each ticket's light as a column: 'red', 'yellow', 'green', or NULL with no open deadline."""
    order = (Light.RED, Light.YELLOW, Light.GREEN)
    return case(*((light_is(light, per_ticket=True), light.value) for light in order), else_=None)


def next_deadline_id() -> Any:
    """The id of the ticket's open deadline due first (paused ones, with no due time, last)."""
    query = (
        select(Deadline.id)
        .where(Deadline.ticket_id == Ticket.id, _open())
        .order_by(col(Deadline.due_at).asc().nulls_last(), col(Deadline.id))
        .limit(1)
    )
    return query.correlate(Ticket).scalar_subquery()


def next_due_at() -> Any:
    """When the ticket's next open deadline falls due, for sorting (NULL: none, or all paused)."""
    query = select(func.min(Deadline.due_at)).where(col(Deadline.ticket_id) == Ticket.id, _open())
    return query.correlate(Ticket).scalar_subquery()
