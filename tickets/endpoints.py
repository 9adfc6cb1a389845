"""HTTP routes of the ticket loop: intake, listings, the audit trail and one route per action."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from accounts.audit import append
from accounts.dependencies import CurrentUser, actor_of, audit_read, require_roles
from core.db import SessionDep
from core.errors import Forbidden, InvalidInput, NotFound
from core.timezone import local_span
from core.validation import Instant, PageOffset, PageSize, PathId
from deadlines.policy import PolicyDep
from models import AppealType, AuditAction, Channel, Role, TicketStatus, Unit, Urgency, User
from routing.model import ServingModelDep
from routing.settings import RoutingDep
from tickets import kpis, presenters, repeat_links, repository, service
from tickets.connectors import ConnectorsDep
from tickets.credit_code import normalize_credit_code
from tickets.lights import Light
from tickets.repository import Sort
from tickets.schemas import (
    CallbackIn,
    ContactActionIn,
    ContactPublic,
    ContactRevealIn,
    DispatchIn,
    EnterpriseDetail,
    EventPublic,
    ExtensionRequestIn,
    LocalityIn,
    NoteIn,
    PauseIn,
    RepeatOfIn,
    ReplyIn,
    ReturnIn,
    TicketCreate,
    TicketPage,
    TicketPublic,
    WorkbenchCounts,
)

router = APIRouter(prefix="/api/v1", tags=["tickets"])

DeskUser = Annotated[User, Depends(require_roles(Role.OPERATOR, Role.SUPERVISOR))]


@router.post(
    "/tickets",
    response_model=TicketPublic,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "Already taken in under this source and external id."}},
)
def create_ticket(
    data: TicketCreate,
    session: SessionDep,
    connectors: ConnectorsDep,
    routing: RoutingDep,
    serving: ServingModelDep,
    policy: PolicyDep,
    user: DeskUser,
    response: Response,
) -> TicketPublic:
    """受理: take an appeal in. Idempotent on (source, external_id)."""
    ticket, created = service.intake(
        session,
        serving=serving,
        connectors=connectors,
        data=data,
        user=user,
        policy=policy,
        routing=routing,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


UnitCode = Annotated[str | None, Query(max_length=64)]


def _known_units(session: SessionDep, **codes: str | None) -> None:
    """Refuse a unit code no unit has (a retired unit's tickets stay listable)."""
    for parameter, code in codes.items():
        if code is not None and session.get(Unit, code) is None:
            raise InvalidInput(
                f"参数 {parameter} 给出的单位代码不存在，请从单位列表中选择", field=parameter
            )


@router.get("/tickets", response_model=TicketPage)
def list_tickets(
    session: SessionDep,
    policy: PolicyDep,
    user: CurrentUser,
    status_: Annotated[
        list[TicketStatus] | None,
        Query(alias="status", description="Any of these statuses; repeat the parameter."),
    ] = None,
    unit: Annotated[
        str | None, Query(max_length=64, description="Assigned to this unit (lead or assist).")
    ] = None,
    lead_unit: Annotated[str | None, Query(max_length=64, description="Led by this unit.")] = None,
    subdistrict: Annotated[
        str | None, Query(max_length=64, description="Tickets in this 街镇.")
    ] = None,
    received_from: Annotated[
        Instant | None, Query(alias="from", description="A bare date is Shanghai time.")
    ] = None,
    received_to: Annotated[Instant | None, Query(alias="to")] = None,
    overdue: Annotated[
        bool | None, Query(description="Only tickets with (true) or without (false) a breach.")
    ] = None,
    light: Annotated[Light | None, Query(description="The ticket's traffic light.")] = None,
    appeal_type: AppealType | None = None,
    channel: Channel | None = None,
    urgency: Urgency | None = None,
    escalation: Annotated[
        int | None, Query(ge=1, le=3, description="督办 at this level or above.")
    ] = None,
    extension: Annotated[
        bool | None, Query(description="With (true) or without (false) an extension request.")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Case-insensitive text in the title, text, enterprise name or code.",
        ),
    ] = None,
    sort: Annotated[
        Sort, Query(description="`due_at`: the next open deadline, tickets without one last.")
    ] = Sort.RECEIVED_AT_DESC,
    limit: PageSize = 50,
    offset: PageOffset = 0,
) -> TicketPage:
    """The tickets you may see, newest first unless sorted otherwise, filtered and paged."""
    _known_units(session, unit=unit, lead_unit=lead_unit, subdistrict=subdistrict)
    where = repository.TicketFilter(
        statuses=tuple(dict.fromkeys(status_ or ())),
        unit=unit,
        lead_unit=lead_unit,
        subdistrict=subdistrict,
        received_from=received_from,
        received_to=received_to,
        overdue=overdue,
        light=light,
        appeal_type=appeal_type,
        channel=channel,
        urgency=urgency,
        q=q.strip() if q and q.strip() else None,
        escalation=escalation,
        extension=extension,
    )
    count, tickets = repository.list_tickets(
        session, user=user, where=where, limit=limit, offset=offset, sort=sort
    )
    items = presenters.present_tickets(session, tickets, viewer=user, calendar=policy.calendar)
    return TicketPage(count=count, limit=limit, offset=offset, items=items)


@router.get("/workbench/counts", response_model=WorkbenchCounts, tags=["tickets"])
def workbench_counts(
    session: SessionDep,
    user: CurrentUser,
    unit: Annotated[
        str | None,
        Query(max_length=64, description="Desk roles: one unit's tabs (default: every unit)."),
    ] = None,
) -> WorkbenchCounts:
    """How many tickets each workbench tab holds; a unit's or 街镇's user sees its own unit's."""
    if user.role in (Role.UNIT_HANDLER, Role.SUBDISTRICT):
        if unit is not None and unit != user.unit_code:
            raise Forbidden(f"您只能查看本单位（{user.unit_code}）的工作台")
        unit = user.unit_code
    _known_units(session, unit=unit)
    return WorkbenchCounts(**repository.workbench_counts(session, user=user, unit=unit))


@router.get("/triage", response_model=TicketPage)
def triage_queue(
    session: SessionDep,
    policy: PolicyDep,
    user: DeskUser,
    rule: Annotated[
        str | None,
        Query(description="Only tickets routing left here by this rule, e.g. `supervisor`."),
    ] = None,
    limit: PageSize = 50,
    offset: PageOffset = 0,
) -> TicketPage:
    """The manual triage queue, oldest first, with routing's candidates and reasons."""
    where = repository.TicketFilter(statuses=(TicketStatus.TRIAGE,), rule=rule)
    count, tickets = repository.list_tickets(
        session, user=user, where=where, limit=limit, offset=offset, sort=Sort.RECEIVED_AT
    )
    items = presenters.present_tickets(session, tickets, viewer=user, calendar=policy.calendar)
    return TicketPage(count=count, limit=limit, offset=offset, items=items)


@router.get("/enterprises/{credit_code}", response_model=EnterpriseDetail, tags=["enterprises"])
def get_enterprise(credit_code: str, session: SessionDep, user: DeskUser) -> EnterpriseDetail:
    """An enterprise by its unified social credit code (the intake form fills the name in)."""
    try:
        code = normalize_credit_code(credit_code)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="credit_code") from None
    enterprise = repository.enterprise(session, credit_code=code)
    if enterprise is None:
        raise NotFound(f"没有统一社会信用代码为 {code} 的企业记录，请手工填写企业名称")
    return EnterpriseDetail.model_validate(enterprise, from_attributes=True)


@router.get("/tickets/{ticket_id}", response_model=TicketPublic)
def get_ticket(
    ticket_id: PathId, request: Request, session: SessionDep, policy: PolicyDep, user: CurrentUser
) -> TicketPublic:
    """One ticket with its assignments; opening one whose contact shows in full is logged."""
    ticket = service.get_ticket(session, ticket_id=ticket_id, user=user)
    shown = presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)
    if presenters.sees_contact(ticket, user) and ticket.anonymised_at is None:
        audit_read(request, user, AuditAction.CONTACT_VIEW, target=f"ticket:{ticket.id}")
    return shown


@router.post("/tickets/{ticket_id}/contact-reveal", response_model=ContactPublic)
def reveal_contact(
    ticket_id: PathId,
    body: ContactRevealIn,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
) -> ContactPublic:
    """The full contact, for a role that sees it masked: an explicit reading, logged with why."""
    ticket = service.get_ticket(session, ticket_id=ticket_id, user=user)
    append(session, actor=actor_of(request, user), action=AuditAction.CONTACT_REVEAL,
           target=f"ticket:{ticket.id}", detail=body.reason)  # fmt: skip
    return presenters.full_contact(ticket)


@router.get("/tickets/{ticket_id}/events", response_model=list[EventPublic])
def ticket_events(ticket_id: PathId, session: SessionDep, user: CurrentUser) -> list[EventPublic]:
    """The ticket's append-only audit trail."""
    service.get_ticket(session, ticket_id=ticket_id, user=user)
    return presenters.present_events(repository.events_of(session, ticket_id=ticket_id))


@router.post("/tickets/{ticket_id}/dispatch", response_model=TicketPublic)
def dispatch(
    ticket_id: PathId,
    body: DispatchIn,
    session: SessionDep,
    connectors: ConnectorsDep,
    policy: PolicyDep,
    user: CurrentUser,
) -> TicketPublic:
    """分拨: name the lead unit and the assisting units."""
    ticket = service.dispatch(
        session,
        connectors=connectors,
        policy=policy,
        ticket_id=ticket_id,
        user=user,
        lead_unit=body.lead_unit,
        assist_units=body.assist_units,
        subdistrict=body.subdistrict,
        note=body.note,
        version=body.version,
    )
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.post("/tickets/{ticket_id}/locality", response_model=TicketPublic)
def set_locality(
    ticket_id: PathId,
    body: LocalityIn,
    session: SessionDep,
    connectors: ConnectorsDep,
    routing: RoutingDep,
    policy: PolicyDep,
    user: DeskUser,
) -> TicketPublic:
    """Name the 街镇 of a ticket dispatched without one; it assists on-site matters."""
    ticket = service.set_subdistrict(
        session,
        connectors=connectors,
        on_site=routing.on_site_units,
        ticket_id=ticket_id,
        user=user,
        subdistrict=body.subdistrict,
        version=body.version,
    )
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.post("/tickets/{ticket_id}/repeat-of", response_model=TicketPublic)
def link_repeat(
    ticket_id: PathId,
    body: RepeatOfIn,
    session: SessionDep,
    connectors: ConnectorsDep,
    policy: PolicyDep,
    user: DeskUser,
) -> TicketPublic:
    """The ticket repeats an earlier one (an operator's correction of repeat detection)."""
    ticket = repeat_links.link(
        session,
        connectors=connectors,
        ticket_id=ticket_id,
        earlier_id=body.ticket_id,
        user=user,
        version=body.version,
    )
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.delete("/tickets/{ticket_id}/repeat-of", response_model=TicketPublic)
def unlink_repeat(
    ticket_id: PathId,
    session: SessionDep,
    connectors: ConnectorsDep,
    policy: PolicyDep,
    user: DeskUser,
) -> TicketPublic:
    """The ticket is not a repeat: it leaves its chain."""
    ticket = repeat_links.unlink(session, connectors=connectors, ticket_id=ticket_id, user=user)
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.post("/tickets/{ticket_id}/acknowledge", response_model=TicketPublic)
def acknowledge(
    ticket_id: PathId,
    session: SessionDep,
    connectors: ConnectorsDep,
    policy: PolicyDep,
    user: CurrentUser,
    body: NoteIn | None = None,
) -> TicketPublic:
    """签收: the lead unit takes the ticket on."""
    version = body.version if body else None
    ticket = service.acknowledge(
        session, connectors=connectors, ticket_id=ticket_id, user=user, version=version
    )
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.post("/tickets/{ticket_id}/contact", response_model=TicketPublic)
def contact(
    ticket_id: PathId,
    body: ContactActionIn,
    session: SessionDep,
    connectors: ConnectorsDep,
    policy: PolicyDep,
    user: CurrentUser,
) -> TicketPublic:
    """先行联系: the lead unit has reached the enterprise."""
    ticket = service.contact(
        session,
        connectors=connectors,
        ticket_id=ticket_id,
        user=user,
        note=body.note,
        version=body.version,
    )
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.post("/tickets/{ticket_id}/reply", response_model=TicketPublic)
def reply(
    ticket_id: PathId,
    body: ReplyIn,
    session: SessionDep,
    connectors: ConnectorsDep,
    policy: PolicyDep,
    user: CurrentUser,
) -> TicketPublic:
    """答复: the lead unit's answer."""
    ticket = service.reply(
        session,
        connectors=connectors,
        policy=policy,
        ticket_id=ticket_id,
        user=user,
        content=body.content,
        version=body.version,
    )
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.post("/tickets/{ticket_id}/return", response_model=TicketPublic)
def return_ticket(
    ticket_id: PathId,
    body: ReturnIn,
    session: SessionDep,
    connectors: ConnectorsDep,
    routing: RoutingDep,
    serving: ServingModelDep,
    policy: PolicyDep,
    user: CurrentUser,
) -> TicketPublic:
    """退单: the lead unit hands the ticket back to dispatch with a reason."""
    ticket = service.return_ticket(
        session,
        serving=serving,
        connectors=connectors,
        policy=policy,
        routing=routing,
        ticket_id=ticket_id,
        user=user,
        reason=body.reason,
        version=body.version,
    )
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.post("/tickets/{ticket_id}/pause", response_model=TicketPublic)
def pause(
    ticket_id: PathId,
    body: PauseIn,
    session: SessionDep,
    connectors: ConnectorsDep,
    policy: PolicyDep,
    user: CurrentUser,
) -> TicketPublic:
    """Awaiting the enterprise: the lead unit stops the deadlines until it resumes."""
    ticket = service.pause_clocks(
        session,
        connectors=connectors,
        policy=policy,
        ticket_id=ticket_id,
        user=user,
        reason=body.reason,
        version=body.version,
    )
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.post("/tickets/{ticket_id}/resume", response_model=TicketPublic)
def resume(
    ticket_id: PathId,
    session: SessionDep,
    connectors: ConnectorsDep,
    policy: PolicyDep,
    user: CurrentUser,
    body: NoteIn | None = None,
) -> TicketPublic:
    """The enterprise answered: the deadlines count again, without the paused time."""
    ticket = service.resume_clocks(
        session,
        connectors=connectors,
        policy=policy,
        ticket_id=ticket_id,
        user=user,
        note=body.note if body else None,
        version=body.version if body else None,
    )
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.post("/tickets/{ticket_id}/request-extension", response_model=TicketPublic)
def request_extension(
    ticket_id: PathId,
    body: ExtensionRequestIn,
    session: SessionDep,
    connectors: ConnectorsDep,
    policy: PolicyDep,
    user: CurrentUser,
) -> TicketPublic:
    """延期: the lead unit asks a supervisor for more days."""
    ticket = service.request_extension(
        session,
        connectors=connectors,
        ticket_id=ticket_id,
        user=user,
        days=body.days,
        reason=body.reason,
        version=body.version,
    )
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.post("/tickets/{ticket_id}/approve-extension", response_model=TicketPublic)
def approve_extension(
    ticket_id: PathId,
    session: SessionDep,
    connectors: ConnectorsDep,
    policy: PolicyDep,
    user: CurrentUser,
    body: NoteIn | None = None,
) -> TicketPublic:
    """A supervisor grants the pending extension."""
    ticket = service.decide_extension(
        session,
        connectors=connectors,
        policy=policy,
        ticket_id=ticket_id,
        user=user,
        approve=True,
        note=body.note if body else None,
        version=body.version if body else None,
    )
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.post("/tickets/{ticket_id}/reject-extension", response_model=TicketPublic)
def reject_extension(
    ticket_id: PathId,
    session: SessionDep,
    connectors: ConnectorsDep,
    policy: PolicyDep,
    user: CurrentUser,
    body: NoteIn | None = None,
) -> TicketPublic:
    """A supervisor refuses the pending extension."""
    ticket = service.decide_extension(
        session,
        connectors=connectors,
        policy=policy,
        ticket_id=ticket_id,
        user=user,
        approve=False,
        note=body.note if body else None,
        version=body.version if body else None,
    )
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.post("/tickets/{ticket_id}/callback", response_model=TicketPublic)
def callback(
    ticket_id: PathId,
    body: CallbackIn,
    session: SessionDep,
    connectors: ConnectorsDep,
    policy: PolicyDep,
    user: CurrentUser,
) -> TicketPublic:
    """回访: record the enterprise's verdict; unsatisfied reopens (重办)."""
    ticket = service.callback(
        session,
        connectors=connectors,
        policy=policy,
        ticket_id=ticket_id,
        user=user,
        satisfaction=body.satisfaction,
        note=body.note,
        version=body.version,
    )
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.post("/tickets/{ticket_id}/close", response_model=TicketPublic)
def close(
    ticket_id: PathId,
    session: SessionDep,
    connectors: ConnectorsDep,
    policy: PolicyDep,
    user: CurrentUser,
    body: NoteIn | None = None,
) -> TicketPublic:
    """结案: end the loop."""
    ticket = service.close(
        session,
        connectors=connectors,
        ticket_id=ticket_id,
        user=user,
        note=body.note if body else None,
        version=body.version if body else None,
    )
    return presenters.present_ticket(session, ticket, viewer=user, calendar=policy.calendar)


@router.get("/units/{code}/kpis", response_model=kpis.UnitKpis, tags=["units"])
def unit_kpis(
    code: str,
    session: SessionDep,
    policy: PolicyDep,
    user: CurrentUser,
    period_from: Annotated[
        Instant, Query(alias="from", description="Start (inclusive); a date is Shanghai time.")
    ],
    period_to: Annotated[Instant, Query(alias="to", description="End (exclusive).")],
) -> kpis.UnitKpis:
    """A unit's deadline figures for deadlines that started in [from, to)."""
    if user.role in (Role.UNIT_HANDLER, Role.SUBDISTRICT) and user.unit_code != code:
        raise Forbidden(f"您只能查看本单位（{user.unit_code}）的指标")
    period_from, period_to = local_span(period_from, period_to)
    if session.get(Unit, code) is None:
        raise NotFound("没有该代码的单位，请从单位列表中选择")
    return kpis.unit_kpis(
        session, unit=code, start=period_from, end=period_to, calendar=policy.calendar
    )
