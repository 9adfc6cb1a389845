"""分拨: assigning units to a ticket, by an operator or by routing (item 52) on its own."""

from sqlmodel import Session

from models import (
    Assignment,
    AssignmentRole,
    Notification,
    Stage,
    Ticket,
    TicketStatus,
    Unit,
    UnitKind,
    utcnow,
)
from routing import repeats
from routing import service as routing_service
from routing.settings import get_routing_settings
from tickets import audit, deadlines
from tickets.policy import current_policy

WORK_STAGES = (Stage.ACKNOWLEDGE, Stage.CONTACT, Stage.REPLY)


def start_work_clocks(session: Session, *, ticket: Ticket, stages: tuple[Stage, ...]) -> None:
    """Start the lead unit's deadlines for these stages."""
    now = utcnow()
    for stage in stages:
        deadlines.start(
            session,
            policy=current_policy(),
            ticket=ticket,
            stage=stage,
            unit_code=ticket.lead_unit,
            now=now,
        )


def assign(
    session: Session, *, ticket: Ticket, lead: Unit, assisting: list[Unit], subdistrict: str | None
) -> None:
    """Give the ticket its lead and assisting units and start their clocks."""
    if subdistrict is not None:
        ticket.subdistrict = subdistrict
    elif ticket.subdistrict is None:
        # A 街镇 in the dispatch is the ticket's area unless one is known already.
        areas = [u.code for u in (lead, *assisting) if u.kind == UnitKind.SUBDISTRICT]
        ticket.subdistrict = areas[0] if areas else None
    ticket_id = ticket.id or 0
    session.add(Assignment(ticket_id=ticket_id, unit_code=lead.code, role=AssignmentRole.LEAD))
    for unit in assisting:
        session.add(
            Assignment(ticket_id=ticket_id, unit_code=unit.code, role=AssignmentRole.ASSIST)
        )
    ticket.lead_unit = lead.code
    ticket.status = TicketStatus.DISPATCHED
    start_work_clocks(session, ticket=ticket, stages=(*WORK_STAGES, Stage.RETURN_WINDOW))


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


def apply_routing(
    session: Session,
    *,
    ticket: Ticket,
    assessment: routing_service.Assessment,
    trigger: str,
) -> None:
    """Store routing's decision, link a repeat, and dispatch when routing is sure enough."""
    row = routing_service.record(session, ticket=ticket, assessment=assessment, trigger=trigger)
    before = audit.snapshot(ticket)
    decision = assessment.decision
    if trigger == "intake" and assessment.repeats:
        _link_repeat(session, ticket=ticket, assessment=assessment)
    if decision.subdistrict and ticket.subdistrict is None:
        ticket.subdistrict = decision.subdistrict
    if decision.lead_unit is not None:
        lead = session.get(Unit, decision.lead_unit)
        assists = [u for code in decision.assist_units if (u := session.get(Unit, code))]
        if lead is not None:
            assign(session, ticket=ticket, lead=lead, assisting=assists, subdistrict=None)
    elif decision.rule == "supervisor":
        _notify_supervisors(
            session,
            ticket=ticket,
            kind="routing",
            text=f"工单 #{ticket.id} 需主管派单：{'；'.join(decision.reasons)}",
        )
    ticket.updated_at = utcnow()
    session.add(ticket)
    session.flush()
    audit.record(
        session,
        ticket=ticket,
        user=None,
        action="routed",
        before=before,
        note="; ".join(decision.reasons) or None,
        extra={
            "rule": decision.rule,
            "decision": row.id,
            "assist_units": decision.assist_units,
            "screened_by": decision.screened_by,
        },
    )


def _link_repeat(
    session: Session, *, ticket: Ticket, assessment: routing_service.Assessment
) -> None:
    """A repeat joins the chain of its closest earlier ticket; from a count it is 督办."""
    root = assessment.repeats[0].root_id
    ticket.repeat_of = root
    ticket.repeat_count = repeats.chain_size(session, root_id=root)
    if ticket.repeat_count >= get_routing_settings().repeat_escalate_from:
        ticket.escalation_level = max(ticket.escalation_level, 1)
        _notify_supervisors(
            session,
            ticket=ticket,
            kind="repeat",
            text=f"重复诉求 #{ticket.id}：第 {ticket.repeat_count + 1} 次反映（首件 #{root}）",
        )


def dispatch_by(
    session: Session,
    *,
    ticket: Ticket,
    lead: Unit,
    assisting: list[Unit],
    subdistrict: str | None,
) -> None:
    """An operator's dispatch, which also judges routing's decisions about the ticket."""
    assign(session, ticket=ticket, lead=lead, assisting=assisting, subdistrict=subdistrict)
    routing_service.judge(session, ticket_id=ticket.id or 0, lead_unit=lead.code, kind=lead.kind)
