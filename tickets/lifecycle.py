"""The closed loop as one table: which action may move a ticket from where, and who may act."""

from dataclasses import dataclass
from enum import StrEnum

from core.errors import Conflict, Forbidden
from models import Role, Ticket, TicketStatus, User

S = TicketStatus


class Actor(StrEnum):
    """Who may take an action."""

    DESK = "the hotline desk (operator or supervisor)"
    LEAD_UNIT = "the lead unit's handler"
    SUPERVISOR = "a supervisor"


@dataclass(frozen=True)
class Transition:
    """Where an action may start, where it leads (None: decided by the action), who acts."""

    sources: frozenset[TicketStatus]
    target: TicketStatus | None
    actor: Actor


def _t(sources: set[TicketStatus], target: TicketStatus | None, actor: Actor) -> Transition:
    return Transition(frozenset(sources), target, actor)


TRANSITIONS: dict[str, Transition] = {
    "dispatch": _t({S.TRIAGE}, S.DISPATCHED, Actor.DESK),
    "acknowledge": _t({S.DISPATCHED, S.REOPENED}, S.ACKNOWLEDGED, Actor.LEAD_UNIT),
    "contact": _t({S.ACKNOWLEDGED}, S.CONTACTED, Actor.LEAD_UNIT),
    "reply": _t({S.CONTACTED}, S.REPLIED, Actor.LEAD_UNIT),
    "return": _t(
        {S.DISPATCHED, S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED}, S.TRIAGE, Actor.LEAD_UNIT
    ),
    "request-extension": _t({S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED}, None, Actor.LEAD_UNIT),
    "approve-extension": _t({S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED}, None, Actor.SUPERVISOR),
    "reject-extension": _t({S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED}, None, Actor.SUPERVISOR),
    # Awaiting the enterprise stops the clocks (the status stays as it is).
    "pause": _t({S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED}, None, Actor.LEAD_UNIT),
    "resume": _t({S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED}, None, Actor.LEAD_UNIT),
    # The desk names the 街镇 of a ticket that was dispatched without one (item 52).
    "locality": _t({S.DISPATCHED, S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED}, None, Actor.DESK),
    # Satisfied callbacks wait for 结案; unsatisfied ones reopen (重办).
    "callback": _t({S.REPLIED}, None, Actor.DESK),
    # The desk may also close a ticket that is no appeal at all, or whose callback cannot be made.
    "close": _t({S.TRIAGE, S.REPLIED, S.VERIFIED}, S.CLOSED, Actor.DESK),
}

_ACTOR_ROLES: dict[Actor, set[Role]] = {
    Actor.DESK: {Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN},
    Actor.SUPERVISOR: {Role.SUPERVISOR, Role.ADMIN},
    Actor.LEAD_UNIT: {Role.UNIT_HANDLER, Role.SUBDISTRICT, Role.ADMIN},
}


def guard(action: str, *, ticket: Ticket, user: User) -> Transition:
    """The transition for this action, or the 403/409 that says why it cannot happen now."""
    transition = TRANSITIONS[action]
    if user.role not in _ACTOR_ROLES[transition.actor]:
        raise Forbidden(f"{action} is for {transition.actor}; you are {user.role}")
    if (
        transition.actor == Actor.LEAD_UNIT
        and user.role != Role.ADMIN
        and user.unit_code != ticket.lead_unit
    ):
        raise Forbidden(
            f"{action} is for the lead unit {ticket.lead_unit}; you act for {user.unit_code}"
        )
    if ticket.status not in transition.sources:
        allowed = ", ".join(sorted(transition.sources))
        raise Conflict(
            f"cannot {action} ticket {ticket.id}: it is {ticket.status}, "
            f"and {action} applies only to a ticket that is {allowed}"
        )
    return transition
