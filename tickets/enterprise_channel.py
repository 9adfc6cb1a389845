"""The enterprise channel (随申办企业云 12345专区, item 55): no login. An enterprise submits an
appeal and gets a receipt code; with it and its phone's last four digits it follows the appeal
and rates the reply, which is the callback (回访). A wrong code and a wrong phone get the same
answer, so nothing about any other appeal can be learnt.
"""

import hashlib
import secrets
from typing import Any

from sqlmodel import Session, select

from core.errors import Conflict, NotFound
from deadlines import clocks
from deadlines.policy import SlaPolicy
from deadlines.sweep import STAGE_NAMES
from models import (
    Channel,
    EnterpriseReceipt,
    Satisfaction,
    Ticket,
    TicketStatus,
    Unit,
    id_of,
    utcnow,
)
from routing.model import ServingModel
from routing.settings import RoutingSettings
from tickets import service
from tickets.connectors import Connectors, acting_user
from tickets.schemas import TicketCreate

SOURCE = "enterprise-web"
ACTOR = "企业渠道"
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud on the phone
NOT_FOUND = "回执码或手机号后四位不正确"
STATUS_NAMES = {
    TicketStatus.TRIAGE: "已受理，待分拨",
    TicketStatus.DISPATCHED: "已分拨承办单位",
    TicketStatus.ACKNOWLEDGED: "承办单位已签收",
    TicketStatus.CONTACTED: "承办单位已联系，办理中",
    TicketStatus.REPLIED: "已答复，请评价",
    TicketStatus.VERIFIED: "已评价，待结案",
    TicketStatus.REOPENED: "重办中",
    TicketStatus.CLOSED: "已结案",
}


def new_code() -> str:
    """A receipt code: QS and ten characters (31^10 ≈ 8×10^14 codes)."""
    return "QS" + "".join(secrets.choice(ALPHABET) for _ in range(10))


def submit(
    session: Session,
    *,
    data: dict[str, Any],
    submission_id: str | None,
    policy: SlaPolicy,
    routing: RoutingSettings,
    serving: ServingModel,
    connectors: Connectors,
) -> tuple[EnterpriseReceipt, Ticket, bool]:
    """Take the appeal in like any other; the same submission again gives the same receipt."""
    # The page's own id for the submission when it sends one, else the content itself.
    fingerprint = submission_id or "\n".join(
        str(data[k]) for k in ("credit_code", "contact_phone", "address", "text")
    )
    external_id = hashlib.sha256(fingerprint.encode()).hexdigest()[:40]
    intake = TicketCreate.model_validate(
        {
            "source": SOURCE,
            "external_id": external_id,
            "channel": Channel.WEB,
            "received_at": utcnow(),
            "enterprise": {"credit_code": data["credit_code"], "name": data["enterprise_name"]},
            "contact": {"name": data["contact_name"], "phone": data["contact_phone"]},
            "address": data["address"],
            "title": data.get("title"),
            "text": data["text"],
            "appeal_type": data["appeal_type"],
        }
    )
    user = acting_user(session, name=ACTOR)
    ticket, created = service.intake(
        session,
        serving=serving,
        connectors=connectors,
        data=intake,
        user=user,
        policy=policy,
        routing=routing,
    )
    receipt = session.exec(
        select(EnterpriseReceipt).where(EnterpriseReceipt.ticket_id == ticket.id)
    ).first()
    if receipt is None:
        receipt = EnterpriseReceipt(code=new_code(), ticket_id=id_of(ticket))
        session.add(receipt)
        session.flush()
    return receipt, ticket, created


def find(session: Session, *, code: str, phone_last4: str) -> Ticket:
    """The appeal behind a receipt, if the phone's last four digits match; else one same 404."""
    receipt = session.get(EnterpriseReceipt, code.strip().upper())
    ticket = session.get(Ticket, receipt.ticket_id) if receipt else None
    digits = "".join(c for c in ticket.contact_phone if c.isdigit()) if ticket else ""
    if ticket is None or not secrets.compare_digest(digits[-4:], phone_last4):
        raise NotFound(NOT_FOUND)
    return ticket


def view(session: Session, *, ticket: Ticket, code: str) -> dict[str, Any]:
    """What the enterprise sees of its own appeal."""
    unit = session.get(Unit, ticket.lead_unit) if ticket.lead_unit else None
    rows = clocks.of_ticket(session, ticket_id=id_of(ticket))
    return {
        "receipt_code": code,
        "status": ticket.status,
        "status_name": STATUS_NAMES[ticket.status],
        "received_at": ticket.received_at,
        "title": ticket.title,
        "unit": unit.name if unit else None,
        "deadlines": [
            {
                "stage": row.stage,
                "stage_name": STAGE_NAMES[row.stage],
                "due_at": row.due_at,
                "status": row.status,
                "met_at": row.met_at,
            }
            for row in rows
        ],
        "reply": ticket.reply if ticket.status != TicketStatus.REOPENED else None,
        "satisfaction": ticket.satisfaction,
        "can_rate": ticket.status == TicketStatus.REPLIED,
    }


def rate(
    session: Session,
    *,
    ticket: Ticket,
    satisfaction: Satisfaction,
    note: str | None,
    policy: SlaPolicy,
    connectors: Connectors,
) -> Ticket:
    """The enterprise's verdict on the reply: the callback; unsatisfied reopens (重办)."""
    if ticket.status != TicketStatus.REPLIED:
        raise Conflict(f"当前状态为「{STATUS_NAMES[ticket.status]}」，答复后才能评价")
    user = acting_user(session, name=ACTOR)
    return service.callback(
        session,
        connectors=connectors,
        ticket_id=id_of(ticket),
        user=user,
        satisfaction=satisfaction,
        policy=policy,
        note=note or "企业在线评价",
    )
