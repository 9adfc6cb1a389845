"""Intake and every move of the closed loop; each writes its audit event in the same transaction."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core import metrics
from core.errors import Conflict, InvalidInput, NotFound
from core.timezone import SHANGHAI
from deadlines import clocks
from deadlines.policy import SlaPolicy
from models import (
    Assignment,
    AssignmentRole,
    AssignmentState,
    Enterprise,
    Satisfaction,
    Stage,
    Ticket,
    TicketAction,
    TicketStatus,
    Unit,
    UnitKind,
    User,
    id_of,
    utcnow,
)
from routing import repeats, screening
from routing import rules as routing_rules
from routing import service as routing_service
from routing.model import ServingModel
from routing.settings import RoutingSettings
from tickets import audit, dispatching, lifecycle, repository
from tickets.connectors import Connectors
from tickets.schemas import TicketCreate
from units import service as units_service


def intake(
    session: Session,
    *,
    data: TicketCreate,
    user: User,
    connectors: Connectors,
    policy: SlaPolicy,
    routing: RoutingSettings,
    serving: ServingModel,
) -> tuple[Ticket, bool]:
    """Take an appeal in, screen and route it; returns the ticket and whether it is new.

    Idempotent per (source, external_id); the same text again from the same source for the
    same enterprise or phone within minutes is merged into the first ticket, not counted as a
    repeat.
    """
    # The encoder runs before the transaction's first statement: on SQLite a write transaction
    # holds the process's writer lock from its first statement to its commit, so every other
    # write (actions on other tickets, sweeps) would wait for the model. A resubmission, rare,
    # pays one pass it does not need.
    reading = routing_service.read(_appeal(data), routing, serving)
    first = repeats.duplicate_submission(
        session,
        source=data.source,
        text=data.text,
        enterprise_code=data.enterprise.credit_code,
        phone=data.contact.phone,
        at=data.received_at,
        minutes=routing.merge_minutes,
    )
    if first is not None:
        if (first.source, first.external_id) != (data.source, data.external_id):
            note = f"the same appeal again as {data.source}/{data.external_id}; merged"
            before = audit.snapshot(first)
            audit.record(
                session,
                connectors=connectors,
                ticket=first,
                user=user,
                action=TicketAction.MERGED,
                before=before,
                note=note,
            )
        return first, False
    # Held to the end: routing, the new ticket and the routing record each look the enterprise
    # up, and the session's identity map answers them only while someone references it.
    enterprise = session.get(Enterprise, data.enterprise.credit_code)
    assessment = routing_service.assess(
        session, serving=serving, appeal=_appeal(data), reading=reading, settings=routing
    )
    # Insert first and let the unique (source, external_id) constraint catch a resubmission:
    # new tickets are the common case, and a savepoint keeps the session usable after a clash.
    try:
        with session.begin_nested():
            ticket, enterprise = _create_ticket(
                session,
                connectors=connectors,
                data=data,
                user=user,
                enterprise=enterprise,
                placed=dispatching.placement(
                    session, assessment=assessment, escalate_from=routing.repeat_escalate_from
                ),
            )
    except IntegrityError:
        existing = repository.ticket_by_source(
            session, source=data.source, external_id=data.external_id
        )
        if existing is None:
            raise
        return existing, False
    dispatching.apply_routing(
        session,
        connectors=connectors,
        ticket=ticket,
        assessment=assessment,
        trigger="intake",
        policy=policy,
        on_site=routing.on_site_units,
    )
    metrics.INTAKES.labels(str(data.channel)).inc()
    return ticket, True


def _appeal(data: TicketCreate) -> routing_service.Appeal:
    return routing_service.Appeal(
        text=data.text,
        title=data.title,
        address=data.address,
        at=data.received_at,
        enterprise_code=data.enterprise.credit_code,
        phone=data.contact.phone,
    )


def _create_ticket(
    session: Session,
    *,
    data: TicketCreate,
    user: User,
    connectors: Connectors,
    enterprise: Enterprise | None,
    placed: dict[str, Any],
) -> tuple[Ticket, Enterprise]:
    """The new ticket and its enterprise (registered now if it was not)."""
    now = utcnow()
    if enterprise is None:
        enterprise = Enterprise(
            credit_code=data.enterprise.credit_code, name=data.enterprise.name, address=data.address
        )
        session.add(enterprise)
    ticket = Ticket(
        source=data.source,
        external_id=data.external_id,
        channel=data.channel,
        received_at=data.received_at,
        created_at=now,
        updated_at=now,
        enterprise_code=enterprise.credit_code,
        contact_name=data.contact.name,
        contact_phone=data.contact.phone,
        title=data.title,
        text=data.text,
        address=data.address,
        appeal_type=data.appeal_type,
        urgency=data.urgency,
        status=TicketStatus.TRIAGE,
        **placed,
    )
    session.add(ticket)
    session.flush()
    # The registry keeps its name: an appeal naming the code otherwise must not rename the
    # enterprise on its earlier tickets. The name the appeal gave is kept in its first event.
    named = data.enterprise.name
    note = None if named == enterprise.name else f"诉求所称企业名称：{named}"
    audit.record(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=TicketAction.RECEIVED,
        before={},
        note=note,
    )
    return ticket, enterprise


def _local(instant: datetime) -> str:
    """An instant as people in the district read it."""
    return instant.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def get_ticket(session: Session, *, ticket_id: int, user: User) -> Ticket:
    """The ticket, or 404 if it does not exist or the user may not see it."""
    ticket = repository.visible_ticket(session, ticket_id=ticket_id, user=user)
    if ticket is None:
        raise NotFound(f"工单 {ticket_id} 不存在，或不在您的查看范围内，请核对工单编号")
    return ticket


def _begin(
    session: Session, *, ticket_id: int, user: User, action: TicketAction, version: int | None
) -> tuple[Ticket, lifecycle.Transition, dict[str, Any]]:
    ticket = get_ticket(session, ticket_id=ticket_id, user=user)
    if version is not None and version != ticket.version:
        raise Conflict(
            f"工单 {ticket_id} 已被他人修改（您看到的是第 {version} 版，现在是第 "
            f"{ticket.version} 版），您的操作没有保存。请刷新页面，确认最新情况后再操作",
            code="stale_version",
        )
    transition = lifecycle.guard(action, session=session, ticket=ticket, user=user)
    return ticket, transition, audit.snapshot(ticket)


def _finish(
    session: Session,
    *,
    ticket: Ticket,
    user: User,
    connectors: Connectors,
    action: TicketAction,
    before: dict[str, Any],
    note: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Ticket:
    ticket.updated_at = utcnow()
    session.add(ticket)
    session.flush()
    audit.record(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=action,
        before=before,
        note=note,
        extra=extra,
    )
    return ticket


def _lead_assignment(session: Session, *, ticket: Ticket) -> Assignment:
    for assignment in repository.active_assignments(session, ticket_id=id_of(ticket)):
        if assignment.role == AssignmentRole.LEAD:
            return assignment
    raise Conflict(
        f"工单 {ticket.id} 没有在办的牵头单位，无法继续办理，请联系督办人员处理",
        code="illegal_transition",
    )


def dispatch(
    session: Session,
    *,
    ticket_id: int,
    user: User,
    connectors: Connectors,
    lead_unit: str,
    assist_units: list[str],
    policy: SlaPolicy,
    subdistrict: str | None = None,
    note: str | None = None,
    version: int | None = None,
) -> Ticket:
    """分拨: send the ticket to its lead unit, with assisting units."""
    ticket, _, before = _begin(
        session, ticket_id=ticket_id, user=user, action=TicketAction.DISPATCH, version=version
    )
    lead = units_service.active_unit(session, code=lead_unit, field="lead_unit")
    assists = list(dict.fromkeys(assist_units))
    if lead.code in assists:
        raise InvalidInput("牵头单位不能同时是协办单位，请从协办单位中去掉它", field="assist_units")
    assisting = [units_service.active_unit(session, code=c, field="assist_units") for c in assists]
    if subdistrict is not None:
        area = units_service.active_unit(session, code=subdistrict, field="subdistrict")
        if area.kind != UnitKind.SUBDISTRICT:
            raise InvalidInput(
                f"{area.short_name}（{subdistrict}）不是街镇，请选择一个街镇", field="subdistrict"
            )
    dispatching.dispatch_by(
        session,
        policy=policy,
        ticket=ticket,
        lead=lead,
        assisting=assisting,
        subdistrict=subdistrict,
    )
    return _finish(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=TicketAction.DISPATCH,
        before={**before, "assist_units": []},
        note=note,
        extra={"assist_units": assists},
    )


_STAMP_STAGES = {
    "acknowledged_at": Stage.ACKNOWLEDGE,
    "contacted_at": Stage.CONTACT,
    "replied_at": Stage.REPLY,
}


def _lead_unit_step(
    session: Session,
    *,
    ticket_id: int,
    user: User,
    action: TicketAction,
    stamp: str,
    version: int | None,
) -> tuple[Ticket, dict[str, Any]]:
    """A forward step by the lead unit: check it, stamp its assignment, move the status."""
    ticket, transition, before = _begin(
        session, ticket_id=ticket_id, user=user, action=action, version=version
    )
    assignment = _lead_assignment(session, ticket=ticket)
    now = utcnow()
    setattr(assignment, stamp, now)
    session.add(assignment)
    clocks.meet(session, ticket_id=ticket_id, stage=_STAMP_STAGES[stamp], now=now)
    ticket.status = transition.target or ticket.status
    return ticket, before


def acknowledge(
    session: Session,
    *,
    ticket_id: int,
    user: User,
    connectors: Connectors,
    version: int | None = None,
) -> Ticket:
    """签收: the lead unit takes the ticket on."""
    ticket, before = _lead_unit_step(
        session,
        ticket_id=ticket_id,
        user=user,
        action=TicketAction.ACKNOWLEDGE,
        stamp="acknowledged_at",
        version=version,
    )
    return _finish(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=TicketAction.ACKNOWLEDGE,
        before=before,
    )


def contact(
    session: Session,
    *,
    ticket_id: int,
    user: User,
    connectors: Connectors,
    note: str,
    version: int | None = None,
) -> Ticket:
    """先行联系: the lead unit has reached the enterprise."""
    ticket, before = _lead_unit_step(
        session,
        ticket_id=ticket_id,
        user=user,
        action=TicketAction.CONTACT,
        stamp="contacted_at",
        version=version,
    )
    return _finish(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=TicketAction.CONTACT,
        before=before,
        note=note,
    )


def reply(
    session: Session,
    *,
    ticket_id: int,
    user: User,
    connectors: Connectors,
    content: str,
    policy: SlaPolicy,
    version: int | None = None,
) -> Ticket:
    """答复: the lead unit answers the enterprise."""
    ticket, before = _lead_unit_step(
        session,
        ticket_id=ticket_id,
        user=user,
        action=TicketAction.REPLY,
        stamp="replied_at",
        version=version,
    )
    now = utcnow()
    # The step's changes to the ticket are flushed once, by _finish: one version per step.
    with session.no_autoflush:
        clocks.cancel(session, ticket_id=ticket_id, now=now, stages={Stage.RETURN_WINDOW})
    ticket.reply = content
    clocks.start(
        session,
        policy=policy,
        ticket=ticket,
        stage=Stage.CALLBACK,
        unit_code=None,
        now=now,
    )
    return _finish(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=TicketAction.REPLY,
        before=before,
        note=content,
    )


def return_ticket(
    session: Session,
    *,
    ticket_id: int,
    user: User,
    connectors: Connectors,
    reason: str,
    policy: SlaPolicy,
    routing: RoutingSettings,
    serving: ServingModel,
    version: int | None = None,
) -> Ticket:
    """退单: the lead unit hands the ticket back to dispatch, saying why."""
    ticket, transition, before = _begin(
        session, ticket_id=ticket_id, user=user, action=TicketAction.RETURN, version=version
    )
    now = utcnow()
    closed = clocks.window_closed(session, ticket_id=ticket_id, now=now)
    if closed is not None:
        raise Conflict(
            f"工单 {ticket_id} 的退单时限已于 {_local(closed)} 截止，不能再退单；"
            "如确不属于本单位职责，请联系督办人员改派",
            code="illegal_transition",
        )
    # Before any change: its query would flush the ticket early, costing a second version.
    routing_service.mark(session, ticket_id=ticket_id, correct=False)
    returned_by = session.get(Unit, ticket.lead_unit) if ticket.lead_unit else None
    clocks.cancel(session, ticket_id=ticket_id, now=now)
    for assignment in repository.active_assignments(session, ticket_id=ticket_id):
        if assignment.role == AssignmentRole.LEAD:
            assignment.state = AssignmentState.RETURNED
            assignment.returned_at = now
            assignment.return_reason = reason
        else:
            assignment.state = AssignmentState.CANCELLED
        session.add(assignment)
    ticket.lead_unit = None
    ticket.return_count += 1
    ticket.extension_requested_days = None
    ticket.extension_reason = None
    ticket.status = transition.target or ticket.status
    _finish(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=TicketAction.RETURN,
        before=before,
        note=reason,
    )
    by_subdistrict = returned_by is not None and returned_by.kind == UnitKind.SUBDISTRICT
    if by_subdistrict or routing_rules.supervisor_decides(ticket.return_count):
        # Item 52: a 街镇 saying it is not its authority sends the ticket to a line unit.
        assessment = routing_service.assess(
            session,
            serving=serving,
            appeal=routing_service.appeal_of(ticket),
            exclude_id=ticket_id,
            exclude_territorial=by_subdistrict,
            flags=(screening.RETURNED,) if by_subdistrict else (),
            returns=ticket.return_count,
            reason=reason,
            settings=routing,
        )
        dispatching.apply_routing(
            session,
            connectors=connectors,
            ticket=ticket,
            assessment=assessment,
            trigger="return",
            policy=policy,
            on_site=routing.on_site_units,
        )
    return ticket


def set_subdistrict(
    session: Session,
    *,
    ticket_id: int,
    user: User,
    connectors: Connectors,
    subdistrict: str,
    on_site: list[str],
    version: int | None = None,
) -> Ticket:
    """The desk names the ticket's 街镇 (it led without one): it assists where work is on site."""
    ticket, _, _ = _begin(
        session, ticket_id=ticket_id, user=user, action=TicketAction.LOCALITY, version=version
    )
    area = units_service.active_unit(session, code=subdistrict, field="subdistrict")
    if area.kind != UnitKind.SUBDISTRICT:
        raise InvalidInput("所选单位不是街镇，请选择一个街镇", field="subdistrict")
    if ticket.subdistrict == subdistrict:
        raise Conflict(f"工单 {ticket_id} 已属该街镇，无需再指定", code="illegal_transition")
    dispatching.set_locality(
        session,
        connectors=connectors,
        ticket=ticket,
        subdistrict=subdistrict,
        user=user,
        on_site=on_site,
    )
    return ticket


def request_extension(
    session: Session,
    *,
    ticket_id: int,
    user: User,
    connectors: Connectors,
    days: int,
    reason: str,
    version: int | None = None,
) -> Ticket:
    """延期: the lead unit asks a supervisor for more days."""
    ticket, _, before = _begin(
        session,
        ticket_id=ticket_id,
        user=user,
        action=TicketAction.REQUEST_EXTENSION,
        version=version,
    )
    if ticket.extension_requested_days is not None:
        raise Conflict(
            f"工单 {ticket_id} 已有一份延期 {ticket.extension_requested_days} 个工作日的申请"
            "在等督办人员审批，请等审批结果后再申请",
            code="illegal_transition",
        )
    ticket.extension_requested_days = days
    ticket.extension_reason = reason
    return _finish(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=TicketAction.REQUEST_EXTENSION,
        before=before,
        note=reason,
    )


def decide_extension(
    session: Session,
    *,
    ticket_id: int,
    user: User,
    connectors: Connectors,
    approve: bool,
    policy: SlaPolicy,
    note: str | None = None,
    version: int | None = None,
) -> Ticket:
    """A supervisor grants or refuses the pending extension request."""
    action = TicketAction.APPROVE_EXTENSION if approve else TicketAction.REJECT_EXTENSION
    ticket, _, before = _begin(
        session, ticket_id=ticket_id, user=user, action=action, version=version
    )
    if ticket.extension_requested_days is None:
        raise Conflict(
            f"工单 {ticket_id} 没有待审批的延期申请，请刷新页面查看最新情况",
            code="illegal_transition",
        )
    if approve:
        # The deadlines' query first: after a change it would flush the ticket a second time.
        clocks.extend(
            session,
            policy=policy,
            ticket_id=ticket_id,
            days=ticket.extension_requested_days,
        )
        ticket.extension_days += ticket.extension_requested_days
    ticket.extension_requested_days = None
    return _finish(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=action,
        before=before,
        note=note,
    )


def callback(
    session: Session,
    *,
    ticket_id: int,
    user: User,
    connectors: Connectors,
    satisfaction: Satisfaction,
    policy: SlaPolicy,
    note: str | None = None,
    version: int | None = None,
) -> Ticket:
    """回访: the desk asks the enterprise; unsatisfied reopens the ticket (重办)."""
    ticket, _, before = _begin(
        session, ticket_id=ticket_id, user=user, action=TicketAction.CALLBACK, version=version
    )
    # Every query before the ticket changes: a query after would flush it a second time.
    clocks.meet(session, ticket_id=ticket_id, stage=Stage.CALLBACK, now=utcnow())
    unsatisfied = satisfaction == Satisfaction.UNSATISFIED
    lead = _lead_assignment(session, ticket=ticket) if unsatisfied else None
    ticket.satisfaction = satisfaction
    if lead is not None:
        ticket.status = TicketStatus.REOPENED
        ticket.reopen_count += 1
        lead.acknowledged_at = lead.contacted_at = lead.replied_at = None
        session.add(lead)
        dispatching.start_work_clocks(
            session, policy=policy, ticket=ticket, stages=dispatching.WORK_STAGES
        )
    else:
        ticket.status = TicketStatus.VERIFIED
    return _finish(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=TicketAction.CALLBACK,
        before=before,
        note=note,
    )


def close(
    session: Session,
    *,
    ticket_id: int,
    user: User,
    connectors: Connectors,
    note: str | None = None,
    version: int | None = None,
) -> Ticket:
    """结案: the loop ends."""
    ticket, transition, before = _begin(
        session, ticket_id=ticket_id, user=user, action=TicketAction.CLOSE, version=version
    )
    routing_service.mark(session, ticket_id=ticket_id, correct=True)  # the loop closed on it
    now = utcnow()
    # The queries before the ticket changes: one after would flush it a second time.
    clocks.cancel(session, ticket_id=ticket_id, now=now)
    for assignment in repository.active_assignments(session, ticket_id=ticket_id):
        assignment.state = AssignmentState.DONE
        session.add(assignment)
    ticket.status = transition.target or ticket.status
    ticket.closed_at = now
    return _finish(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=TicketAction.CLOSE,
        before=before,
        note=note,
    )


def pause_clocks(
    session: Session,
    *,
    ticket_id: int,
    user: User,
    connectors: Connectors,
    reason: str,
    policy: SlaPolicy,
    version: int | None = None,
) -> Ticket:
    """The lead unit awaits the enterprise: deadlines stop counting until it resumes."""
    return _change_clocks(
        session, ticket_id, user, TicketAction.PAUSE, clocks.pause, "没有正在计时的时限，无需暂停",
        policy=policy, note=reason, version=version, connectors=connectors,
    )  # fmt: skip


def resume_clocks(
    session: Session,
    *,
    ticket_id: int,
    user: User,
    connectors: Connectors,
    policy: SlaPolicy,
    note: str | None = None,
    version: int | None = None,
) -> Ticket:
    """The enterprise answered: paused deadlines count again, without the paused time."""
    return _change_clocks(
        session, ticket_id, user, TicketAction.RESUME, clocks.resume, "没有已暂停的时限，无需恢复",
        policy=policy, note=note, version=version, connectors=connectors,
    )  # fmt: skip


def _change_clocks(
    session: Session,
    ticket_id: int,
    user: User,
    action: TicketAction,
    change: Callable[..., int],
    refusal: str,
    *,
    policy: SlaPolicy,
    connectors: Connectors,
    note: str | None,
    version: int | None,
) -> Ticket:
    ticket, _, before = _begin(
        session, ticket_id=ticket_id, user=user, action=action, version=version
    )
    if not change(session, policy=policy, ticket_id=ticket_id, now=utcnow()):
        raise Conflict(f"工单 {ticket_id} {refusal}", code="illegal_transition")
    return _finish(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=action,
        before=before,
        note=note,
    )
