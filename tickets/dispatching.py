"""分拨: assigning units to a ticket, by an operator or by routing (item 52) on its own."""

from sqlmodel import Session, col, select

from deadlines import clocks
from deadlines.policy import SlaPolicy
from models import (
    Assignment,
    AssignmentRole,
    Enterprise,
    Notification,
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
from routing import repeats
from routing import service as routing_service
from tickets import audit, repository
from tickets.connectors import Connectors

WORK_STAGES = (Stage.ACKNOWLEDGE, Stage.CONTACT, Stage.REPLY)


def start_work_clocks(
    session: Session, *, policy: SlaPolicy, ticket: Ticket, stages: tuple[Stage, ...]
) -> None:
    """Start the lead unit's deadlines for these stages."""
    now = utcnow()
    for stage in stages:
        clocks.start(
            session,
            policy=policy,
            ticket=ticket,
            stage=stage,
            unit_code=ticket.lead_unit,
            now=now,
        )


def assign(
    session: Session,
    *,
    policy: SlaPolicy,
    ticket: Ticket,
    lead: Unit,
    assisting: list[Unit],
    subdistrict: str | None,
) -> None:
    """Give the ticket its lead and assisting units and start their clocks."""
    if subdistrict is not None:
        ticket.subdistrict = subdistrict
    elif ticket.subdistrict is None:
        # A 街镇 in the dispatch is the ticket's area unless one is known already.
        areas = [u.code for u in (lead, *assisting) if u.kind == UnitKind.SUBDISTRICT]
        ticket.subdistrict = areas[0] if areas else None
    ticket_id = id_of(ticket)
    session.add(Assignment(ticket_id=ticket_id, unit_code=lead.code, role=AssignmentRole.LEAD))
    for unit in assisting:
        session.add(
            Assignment(ticket_id=ticket_id, unit_code=unit.code, role=AssignmentRole.ASSIST)
        )
    ticket.lead_unit = lead.code
    ticket.status = TicketStatus.DISPATCHED
    start_work_clocks(
        session, policy=policy, ticket=ticket, stages=(*WORK_STAGES, Stage.RETURN_WINDOW)
    )


def _notify_supervisors(session: Session, *, ticket: Ticket, kind: str, text: str) -> None:
    session.add(
        Notification(
            recipient="role:supervisor",
            kind=kind,
            ticket_id=ticket.id,
            text=text,
            data={"ticket": ticket.id},
        )
    )


def placement(
    session: Session, *, assessment: routing_service.Assessment, escalate_from: int
) -> dict[str, int | str | None]:
    """What a new ticket starts with from routing: its 街镇 and its place in a repeat chain
    (escalated from the `escalate_from`th repeat on)."""
    fields: dict[str, int | str | None] = {"subdistrict": assessment.decision.subdistrict}
    if assessment.repeats:
        root = assessment.repeats[0].root_id
        count = repeats.chain_size(session, root_id=root)
        fields |= {"repeat_of": root, "repeat_count": count}
        if count >= escalate_from:
            fields["escalation_level"] = 1  # 督办: raised again and again
    return fields


def apply_routing(
    session: Session,
    *,
    ticket: Ticket,
    assessment: routing_service.Assessment,
    trigger: str,
    policy: SlaPolicy,
    on_site: list[str],
    connectors: Connectors,
) -> None:
    """Store routing's decision and act on it: dispatch, or call a supervisor in (`on_site`:
    the line units whose matters are on site, RoutingSettings.on_site_units)."""
    row = routing_service.record(session, ticket=ticket, assessment=assessment, trigger=trigger)
    enterprise = session.get(Enterprise, ticket.enterprise_code)
    learnt = enterprise and routing_service.learn_subdistrict(
        session, enterprise=enterprise, where=assessment.locality
    )
    if enterprise and learnt:  # the 街镇 assists the tickets its line units led without it
        add_locality(
            session,
            connectors=connectors,
            enterprise_code=enterprise.credit_code,
            subdistrict=learnt,
            on_site=on_site,
        )
    decision = assessment.decision
    if trigger == "intake" and ticket.repeat_of and ticket.escalation_level:
        _notify_supervisors(
            session,
            ticket=ticket,
            kind="repeat",
            text=(
                f"重复诉求 #{ticket.id}：第 {ticket.repeat_count + 1} 次反映，"
                f"首件 #{ticket.repeat_of}"
            ),
        )
    lead = session.get(Unit, decision.lead_unit) if decision.lead_unit else None
    if lead is None and decision.rule != "supervisor":
        return  # the triage queue: the decision row says why
    before = audit.snapshot(ticket)
    if lead is not None:
        assists = [u for code in decision.assist_units if (u := session.get(Unit, code))]
        assign(
            session, policy=policy, ticket=ticket, lead=lead, assisting=assists, subdistrict=None
        )
    else:
        _notify_supervisors(
            session,
            ticket=ticket,
            kind="routing",
            text=f"工单 #{ticket.id} 需主管派单：{'；'.join(decision.reasons)}",
        )
    ticket.updated_at = utcnow()
    session.add(ticket)
    session.flush()
    confidence = f" {decision.confidence:.2f}" if decision.confidence is not None else ""
    audit.record(
        session,
        connectors=connectors,
        ticket=ticket,
        user=None,
        action=TicketAction.DISPATCH if lead is not None else TicketAction.TO_SUPERVISOR,
        before={**before, "assist_units": []},
        note="; ".join(
            [f"routing decision {row.id}: {decision.rule}{confidence}", *decision.reasons]
        ),
        extra={"assist_units": decision.assist_units},
    )


def dispatch_by(
    session: Session,
    *,
    policy: SlaPolicy,
    ticket: Ticket,
    lead: Unit,
    assisting: list[Unit],
    subdistrict: str | None,
) -> None:
    """An operator's dispatch, which also judges routing's decisions about the ticket."""
    # Judge first: its query would flush the ticket's changes early, costing a second version.
    routing_service.judge(session, ticket_id=id_of(ticket), lead_unit=lead.code, kind=lead.kind)
    assign(
        session,
        policy=policy,
        ticket=ticket,
        lead=lead,
        assisting=assisting,
        subdistrict=subdistrict,
    )


_OPEN = (TicketStatus.DISPATCHED, TicketStatus.ACKNOWLEDGED, TicketStatus.CONTACTED)


def add_locality(
    session: Session,
    *,
    enterprise_code: str,
    subdistrict: str,
    on_site: list[str],
    connectors: Connectors,
) -> None:
    """The registry learnt the enterprise's 街镇: its open tickets that lacked one get it, and the
    街镇 assists where the lead's matters are on site (item 52: the line unit led without it)."""
    query = select(Ticket).where(
        col(Ticket.enterprise_code) == enterprise_code,
        col(Ticket.subdistrict).is_(None),
        col(Ticket.status).in_(_OPEN),
    )
    for ticket in list(session.exec(query)):
        set_locality(
            session,
            connectors=connectors,
            ticket=ticket,
            subdistrict=subdistrict,
            user=None,
            on_site=on_site,
        )


def set_locality(
    session: Session,
    *,
    ticket: Ticket,
    subdistrict: str,
    user: User | None,
    on_site: list[str],
    connectors: Connectors,
) -> None:
    """The ticket's 街镇 is now known: it assists an open ticket whose lead works on site."""
    before = audit.snapshot(ticket)
    ticket.subdistrict = subdistrict
    assists: list[str] = []
    live = repository.active_assignments(session, ticket_id=id_of(ticket))
    if (
        ticket.status in _OPEN
        and ticket.lead_unit in on_site
        and subdistrict not in {a.unit_code for a in live}
    ):
        session.add(
            Assignment(ticket_id=id_of(ticket), unit_code=subdistrict, role=AssignmentRole.ASSIST)
        )
        assists = [subdistrict]
    ticket.updated_at = utcnow()
    session.add(ticket)
    session.flush()
    audit.record(
        session,
        connectors=connectors,
        ticket=ticket,
        user=user,
        action=TicketAction.LOCALITY,
        before={**before, "assist_units": []},
        note=f"the 街镇 is now known: {subdistrict}",
        extra={"assist_units": assists},
    )
