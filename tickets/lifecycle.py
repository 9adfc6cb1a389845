"""The closed loop as one table: which action may move a ticket from where, and who may act."""

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session

from accounts.dependencies import ROLE_NAMES
from core.errors import Conflict, Forbidden
from models import Role, Ticket, TicketAction, TicketStatus, Unit, User

S, A = TicketStatus, TicketAction


class Actor(StrEnum):
    """Who may take an action (the value is how the console names them)."""

    DESK = "热线坐席（话务员或督办人员）"
    LEAD_UNIT = "牵头单位"
    SUPERVISOR = "督办人员"


# The console's words for the statuses and the actions (DESIGN.md, "The console").
STATUS_NAMES: dict[TicketStatus, str] = {
    S.TRIAGE: "待分拨",
    S.DISPATCHED: "已分拨待签收",
    S.ACKNOWLEDGED: "已签收",
    S.CONTACTED: "已先行联系",
    S.REPLIED: "已答复待回访",
    S.VERIFIED: "已回访待结案",
    S.REOPENED: "重办",
    S.CLOSED: "已结案",
}
# Keyed by str: a stored event's action is read back as its plain value.
ACTION_NAMES: dict[str, str] = {
    A.DISPATCH: "分拨",
    A.ACKNOWLEDGE: "签收",
    A.CONTACT: "先行联系",
    A.REPLY: "答复",
    A.RETURN: "退单",
    A.REQUEST_EXTENSION: "申请延期",
    A.APPROVE_EXTENSION: "批准延期",
    A.REJECT_EXTENSION: "驳回延期",
    A.PAUSE: "暂停计时",
    A.RESUME: "恢复计时",
    A.CALLBACK: "回访",
    A.CLOSE: "结案",
    A.LOCALITY: "指定街镇",
}


@dataclass(frozen=True)
class Transition:
    """Where an action may start, where it leads (None: decided by the action), who acts."""

    sources: frozenset[TicketStatus]
    target: TicketStatus | None
    actor: Actor


def _t(sources: set[TicketStatus], target: TicketStatus | None, actor: Actor) -> Transition:
    return Transition(frozenset(sources), target, actor)


TRANSITIONS: dict[TicketAction, Transition] = {
    A.DISPATCH: _t({S.TRIAGE}, S.DISPATCHED, Actor.DESK),
    A.ACKNOWLEDGE: _t({S.DISPATCHED, S.REOPENED}, S.ACKNOWLEDGED, Actor.LEAD_UNIT),
    A.CONTACT: _t({S.ACKNOWLEDGED}, S.CONTACTED, Actor.LEAD_UNIT),
    A.REPLY: _t({S.CONTACTED}, S.REPLIED, Actor.LEAD_UNIT),
    A.RETURN: _t(
        {S.DISPATCHED, S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED}, S.TRIAGE, Actor.LEAD_UNIT
    ),
    A.REQUEST_EXTENSION: _t({S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED}, None, Actor.LEAD_UNIT),
    A.APPROVE_EXTENSION: _t({S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED}, None, Actor.SUPERVISOR),
    A.REJECT_EXTENSION: _t({S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED}, None, Actor.SUPERVISOR),
    # Awaiting the enterprise stops the clocks (the status stays as it is).
    A.PAUSE: _t({S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED}, None, Actor.LEAD_UNIT),
    A.RESUME: _t({S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED}, None, Actor.LEAD_UNIT),
    # The desk names the 街镇 of a ticket that was dispatched without one (item 52).
    A.LOCALITY: _t({S.DISPATCHED, S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED}, None, Actor.DESK),
    # Satisfied callbacks wait for 结案; unsatisfied ones reopen (重办).
    A.CALLBACK: _t({S.REPLIED}, None, Actor.DESK),
    # The desk may also close a ticket that is no appeal at all, or whose callback cannot be made.
    A.CLOSE: _t({S.TRIAGE, S.REPLIED, S.VERIFIED}, S.CLOSED, Actor.DESK),
}

_ACTOR_ROLES: dict[Actor, set[Role]] = {
    Actor.DESK: {Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN},
    Actor.SUPERVISOR: {Role.SUPERVISOR, Role.ADMIN},
    Actor.LEAD_UNIT: {Role.UNIT_HANDLER, Role.SUBDISTRICT, Role.ADMIN},
}


def unit_name(session: Session, code: str | None) -> str:
    """A unit's short name for a message, or its code when it is unknown."""
    unit = session.get(Unit, code) if code else None
    return unit.short_name if unit else (code or "（无）")


def guard(action: TicketAction, *, session: Session, ticket: Ticket, user: User) -> Transition:
    """The transition for this action, or the 403/409 that says why it cannot happen now."""
    transition = TRANSITIONS[action]
    verb = ACTION_NAMES[action]
    if user.role not in _ACTOR_ROLES[transition.actor]:
        raise Forbidden(
            f"“{verb}”须由{transition.actor}办理，您的角色是{ROLE_NAMES[user.role]}，不能办理此操作"
        )
    if (
        transition.actor == Actor.LEAD_UNIT
        and user.role != Role.ADMIN
        and user.unit_code != ticket.lead_unit
    ):
        raise Forbidden(
            f"工单 {ticket.id} 由{unit_name(session, ticket.lead_unit)}牵头，"
            f"只有牵头单位可以“{verb}”；您代表{unit_name(session, user.unit_code)}"
        )
    if ticket.status not in transition.sources:
        allowed = "、".join(f"“{STATUS_NAMES[s]}”" for s in sorted(transition.sources))
        raise Conflict(
            f"工单 {ticket.id} 当前为“{STATUS_NAMES[ticket.status]}”，不能“{verb}”："
            f"“{verb}”只适用于{allowed}的工单。请刷新页面查看工单的最新状态",
            code="illegal_transition",
        )
    return transition
