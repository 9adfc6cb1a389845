"""街镇吹哨、部门报到: raise a whistle, report in, report the outcome, confirm or send back.

Each called department has a 报到 deadline and then an outcome deadline; they are ordinary
deadline rows, so the same sweep warns, breaches and escalates them.
"""

from datetime import datetime

from sqlalchemy import ColumnElement, false, true
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from deadlines import clocks
from deadlines.policy import SlaPolicy
from models import (
    EVALUATED_KINDS,
    CallState,
    Role,
    Stage,
    Unit,
    User,
    Whistle,
    WhistleAction,
    WhistleCall,
    WhistleEvent,
    WhistleStatus,
    id_of,
    utcnow,
)
from tickets import repository as tickets_repository

# How the console names a called department's progress, for refusals people read.
CALL_STATE_NAMES: dict[str, str] = {
    CallState.CALLED: "待报到",
    CallState.REPORTED: "已报到",
    CallState.DONE: "已反馈结果",
    CallState.CONFIRMED: "已确认",
}


def _log(
    session: Session,
    whistle: Whistle,
    user: User,
    action: WhistleAction,
    unit: str | None,
    note: str | None,
) -> None:
    session.add(
        WhistleEvent(
            whistle_id=id_of(whistle),
            actor_id=user.id,
            actor_name=user.name,
            action=action,
            unit_code=unit,
            note=note,
        )
    )


def _start(
    session: Session, policy: SlaPolicy, whistle: Whistle, unit: str, stage: Stage, now: datetime
) -> None:
    clocks.start(
        session,
        policy=policy,
        stage=stage,
        unit_code=unit,
        now=now,
        whistle_id=whistle.id,
    )


def _meet(session: Session, whistle: Whistle, unit: str, stage: Stage, now: datetime) -> None:
    rows = clocks.of_whistle(session, whistle_id=id_of(whistle), unit_code=unit, stages={stage})
    clocks.meet_rows(session, rows, now=now)


def raise_whistle(
    session: Session,
    *,
    user: User,
    units: list[str],
    text: str,
    ticket_ids: list[int],
    policy: SlaPolicy,
) -> Whistle:
    """A 街镇 calls line departments in; each gets a 报到 deadline."""
    if user.role != Role.SUBDISTRICT or not user.unit_code:
        raise Forbidden("只有街镇用户能以本街镇名义吹哨")
    called = list(dict.fromkeys(units))
    for code in called:
        unit = session.get(Unit, code)
        if unit is None or not unit.active:
            raise InvalidInput("没有该代码的在用单位，请从职能部门中选择", field="units")
        if unit.kind not in EVALUATED_KINDS:
            raise InvalidInput(f"{unit.name}不是职能部门，吹哨只能呼叫职能部门", field="units")
    for ticket_id in set(ticket_ids):
        if tickets_repository.visible_ticket(session, ticket_id=ticket_id, user=user) is None:
            raise InvalidInput(f"没有您可查看的工单 {ticket_id}", field="ticket_ids")
    whistle = Whistle(
        subdistrict=user.unit_code,
        text=text,
        ticket_ids=sorted(set(ticket_ids)),
        created_by=user.id,
    )
    session.add(whistle)
    session.flush()
    now = utcnow()
    for code in called:
        session.add(WhistleCall(whistle_id=id_of(whistle), unit_code=code))
        _start(session, policy, whistle, code, Stage.REPORT, now)
    _log(session, whistle, user, WhistleAction.WHISTLE, None, f"called {', '.join(called)}")
    return whistle


def get(session: Session, *, whistle_id: int, user: User) -> Whistle:
    """A whistle the caller may see: its 街镇, a called department, or a supervisor."""
    query = select(Whistle).where(Whistle.id == whistle_id, visible_to(user))
    whistle = session.exec(query).first()
    if whistle is None:
        raise NotFound(f"没有吹哨 {whistle_id}")
    return whistle


def visible_to(user: User) -> ColumnElement[bool]:
    """The whistles a user may see, for every query of them: the desk and supervisors all, a 街镇
    those it blew, a department those that called it."""
    if user.role in (Role.SUPERVISOR, Role.ADMIN, Role.OPERATOR):
        return true()
    if user.unit_code is None:
        return false()
    if user.role == Role.SUBDISTRICT:
        return col(Whistle.subdistrict) == user.unit_code
    if user.role == Role.UNIT_HANDLER:
        return col(Whistle.id).in_(_calling(user.unit_code))
    return false()


def _calling(unit: str) -> SelectOfScalar[int]:
    """The ids of the whistles that called the unit."""
    return select(WhistleCall.whistle_id).where(WhistleCall.unit_code == unit)


def calls(session: Session, *, whistle_id: int) -> list[WhistleCall]:
    """The departments a whistle called."""
    query = select(WhistleCall).where(WhistleCall.whistle_id == whistle_id)
    return list(session.exec(query.order_by(col(WhistleCall.id))))


def _call(session: Session, whistle: Whistle, user: User, unit: str | None) -> WhistleCall:
    """The call a department acts on: its own; a supervisor names the unit."""
    if user.role == Role.UNIT_HANDLER:
        if unit not in (None, user.unit_code):
            raise Forbidden(f"您只能代表本单位（{user.unit_code}）操作")
        unit = user.unit_code
    elif user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("只有被呼叫的部门（或督办人员）能进行此操作")
    found = [c for c in calls(session, whistle_id=id_of(whistle)) if c.unit_code == unit]
    if not found:
        raise NotFound(f"吹哨 {whistle.id} 没有呼叫该单位")
    return found[0]


def _expect(call: WhistleCall, *states: CallState) -> None:
    if call.state not in states:
        wanted = "或".join(CALL_STATE_NAMES.get(s, s) for s in states)
        now = CALL_STATE_NAMES.get(call.state, call.state)
        raise Conflict(f"{call.unit_code} 当前为“{now}”，此操作需要“{wanted}”")


def report(
    session: Session,
    *,
    whistle_id: int,
    user: User,
    unit: str | None,
    contact: str,
    plan: str,
    policy: SlaPolicy,
) -> Whistle:
    """报到: the department names a contact and a plan; its outcome clock starts."""
    whistle = get(session, whistle_id=whistle_id, user=user)
    call = _call(session, whistle, user, unit)
    _expect(call, CallState.CALLED)
    now = utcnow()
    call.state, call.contact, call.plan, call.reported_at = CallState.REPORTED, contact, plan, now
    session.add(call)
    _meet(session, whistle, call.unit_code, Stage.REPORT, now)
    _start(session, policy, whistle, call.unit_code, Stage.OUTCOME, now)
    _log(session, whistle, user, WhistleAction.REPORT, call.unit_code, f"{contact}: {plan}")
    return whistle


def outcome(
    session: Session, *, whistle_id: int, user: User, unit: str | None, content: str
) -> Whistle:
    """The department reports what it did."""
    whistle = get(session, whistle_id=whistle_id, user=user)
    call = _call(session, whistle, user, unit)
    _expect(call, CallState.REPORTED)
    now = utcnow()
    call.state, call.outcome, call.outcome_at = CallState.DONE, content, now
    session.add(call)
    _meet(session, whistle, call.unit_code, Stage.OUTCOME, now)
    _log(session, whistle, user, WhistleAction.OUTCOME, call.unit_code, content)
    return whistle


def _own(session: Session, whistle_id: int, user: User) -> Whistle:
    whistle = get(session, whistle_id=whistle_id, user=user)
    if user.role != Role.ADMIN and user.unit_code != whistle.subdistrict:
        raise Forbidden("只有吹哨的街镇能进行此操作")
    return whistle


def _done_calls(session: Session, whistle: Whistle, unit: str | None) -> list[WhistleCall]:
    chosen = [c for c in calls(session, whistle_id=id_of(whistle)) if unit in (None, c.unit_code)]
    if unit and not chosen:
        raise NotFound(f"吹哨 {whistle.id} 没有呼叫该单位")
    done = [c for c in chosen if c.state == CallState.DONE]
    if not done:
        raise Conflict("还没有部门报告办理结果，无可确认或退回")
    return done


def confirm(session: Session, *, whistle_id: int, user: User, unit: str | None) -> Whistle:
    """The 街镇 accepts the outcome (of one department, or of every one that reported)."""
    whistle = _own(session, whistle_id, user)
    now = utcnow()
    for call in _done_calls(session, whistle, unit):
        call.state, call.confirmed_at = CallState.CONFIRMED, now
        session.add(call)
        _log(session, whistle, user, WhistleAction.CONFIRM, call.unit_code, None)
    session.flush()
    if all(c.state == CallState.CONFIRMED for c in calls(session, whistle_id=whistle_id)):
        whistle.status = WhistleStatus.CONFIRMED
        session.add(whistle)
    return whistle


def reopen(
    session: Session,
    *,
    whistle_id: int,
    user: User,
    unit: str | None,
    reason: str,
    policy: SlaPolicy,
) -> Whistle:
    """The 街镇 sends an outcome back: the department works on, with a new outcome deadline."""
    whistle = _own(session, whistle_id, user)
    now = utcnow()
    for call in _done_calls(session, whistle, unit):
        call.state, call.sent_back, call.last_reason = (
            CallState.REPORTED,
            call.sent_back + 1,
            reason,
        )
        session.add(call)
        _start(session, policy, whistle, call.unit_code, Stage.OUTCOME, now)
        _log(session, whistle, user, WhistleAction.REOPEN, call.unit_code, reason)
    return whistle


def listing(
    session: Session, *, user: User, unit: str | None, status: WhistleStatus | None
) -> list[Whistle]:
    """Whistles the caller may see, newest first, by called unit and status."""
    if user.role == Role.UNIT_HANDLER and unit not in (None, user.unit_code):
        raise Forbidden(f"您只能查看呼叫本单位（{user.unit_code}）的吹哨")
    query = select(Whistle).where(visible_to(user))
    if unit:
        query = query.where(col(Whistle.id).in_(_calling(unit)))
    if status:
        query = query.where(Whistle.status == status)
    return list(session.exec(query.order_by(col(Whistle.id).desc())))
