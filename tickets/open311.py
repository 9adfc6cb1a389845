"""Open311 GeoReport v2 over qisu: services are the authority holders, requests are tickets.

A civic tool files an appeal with its API key; the request goes through the same intake and
routing as every appeal. A client reads back only the requests it filed itself (the appeals
carry an enterprise's contact and text, so the spec's keyless GET is not offered).
"""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from core.errors import DomainError
from deadlines import clocks
from deadlines.policy import SlaPolicy
from models import (
    AUTHORITY_HOLDERS,
    AppealType,
    Open311Client,
    Open311Request,
    Stage,
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

TERRITORIAL = ("territorial", "属地事项", "街镇属地管理的事项（由事发地街镇办理）")
APPEAL_TYPE_NAMES = {
    AppealType.CONSULTATION: "咨询",
    AppealType.HELP: "求助",
    AppealType.COMPLAINT: "投诉",
    AppealType.REPORT: "举报",
    AppealType.SUGGESTION: "建议",
}
STATUS_NOTES = {
    TicketStatus.TRIAGE: "已受理，待分拨",
    TicketStatus.DISPATCHED: "已分拨",
    TicketStatus.ACKNOWLEDGED: "承办单位已签收",
    TicketStatus.CONTACTED: "承办单位已联系企业，办理中",
    TicketStatus.REPLIED: "已答复，待回访",
    TicketStatus.VERIFIED: "回访满意，待结案",
    TicketStatus.REOPENED: "回访不满意，重办中",
    TicketStatus.CLOSED: "已结案",
}
MAX_SPAN = timedelta(days=90)
MAX_ROWS = 1000


class GeoReportError(DomainError):
    """A refusal in the spec's terms: an HTTP status and a description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status_code = status
        self.code = "open311"


def hash_key(key: str) -> str:
    """The stored form of an API key (keys are random, so a fast hash suffices)."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_client(session: Session, *, name: str) -> tuple[Open311Client, str]:
    """A new client and its API key, shown this once."""
    if session.exec(select(Open311Client).where(Open311Client.name == name)).first():
        raise GeoReportError(400, f"已有名为 {name!r} 的 Open311 客户端")
    key = secrets.token_urlsafe(24)
    client = Open311Client(name=name, key_hash=hash_key(key))
    session.add(client)
    session.flush()
    return client, key


def client_for(session: Session, *, key: str | None, action: str) -> Open311Client:
    """The client behind an API key, or the spec's 403."""
    if not key:
        raise GeoReportError(403, f"缺少 api_key，无法{action}")
    client = session.exec(
        select(Open311Client).where(Open311Client.key_hash == hash_key(key))
    ).first()
    if client is None or not client.active:
        raise GeoReportError(403, f"api_key 无效，无法{action}")
    return client


def _authority_units(session: Session) -> list[Unit]:
    query = select(Unit).where(col(Unit.kind).in_(AUTHORITY_HOLDERS), Unit.active == True)  # noqa: E712
    return list(session.exec(query.order_by(col(Unit.code))))


def services(session: Session) -> list[dict[str, Any]]:
    """Every matter class qisu routes to: the authority holders, and 属地 matters."""
    found = [
        {
            "service_code": unit.code,
            "service_name": unit.name,
            "description": "；".join(unit.duties) or unit.name,
            "metadata": True,
            "type": "realtime",
            "keywords": ", ".join([unit.short_name, *unit.duties[:3]]),
            "group": {"line": "条线部门", "utility": "公用事业", "coordinator": "协调机构"}[
                unit.kind
            ],
        }
        for unit in _authority_units(session)
    ]
    code, name, description = TERRITORIAL
    found.append(
        {
            "service_code": code,
            "service_name": name,
            "description": description,
            "metadata": True,
            "type": "realtime",
            "keywords": "街镇, 属地",
            "group": "街镇",
        }
    )
    return found


def _service_names(session: Session) -> dict[str, str]:
    return {s["service_code"]: s["service_name"] for s in services(session)}


def definition(session: Session, *, code: str) -> dict[str, Any]:
    """The attributes an appeal under this service needs: the enterprise and the appeal type."""
    if code not in _service_names(session):
        raise GeoReportError(404, f"没有服务代码 {code!r}")
    return {
        "service_code": code,
        "attributes": [
            _attribute(1, "credit_code", "统一社会信用代码（18 位，含校验码）"),
            _attribute(2, "enterprise_name", "企业名称"),
            {
                **_attribute(3, "appeal_type", "诉求类型（缺省为投诉）", required=False),
                "datatype": "singlevaluelist",
                "values": [{"key": t.value, "name": n} for t, n in APPEAL_TYPE_NAMES.items()],
            },
        ],
    }


def _attribute(order: int, code: str, description: str, *, required: bool = True) -> dict[str, Any]:
    return {
        "variable": True,
        "code": code,
        "datatype": "string",
        "required": required,
        "datatype_description": None,
        "order": order,
        "description": description,
    }


def file_request(
    session: Session,
    *,
    client: Open311Client,
    form: dict[str, str],
    policy: SlaPolicy,
    routing: RoutingSettings,
    serving: ServingModel,
    connectors: Connectors,
) -> tuple[Ticket, bool]:
    """POST Service Request: an appeal through intake, idempotent on the request's content."""
    names = _service_names(session)
    code = form.get("service_code", "").strip()
    if not code:
        raise GeoReportError(400, "缺少 service_code")
    if code not in names:
        raise GeoReportError(404, f"没有服务代码 {code!r}")
    address = form.get("address_string", "").strip()
    if not address:
        # qisu places an appeal by its address (街镇 names, the road gazetteer), not lat/long.
        raise GeoReportError(400, "缺少 address_string：本系统按地址确定所属街镇")
    contact = " ".join(p for p in (form.get("last_name"), form.get("first_name")) if p) or "未留名"
    fingerprint = "\n".join(
        form.get(k, "") for k in ("service_code", "address_string", "phone", "description",
                                  "attribute[credit_code]", "attribute[enterprise_name]")
    )  # fmt: skip
    body = {
        "source": "open311",
        # No request id in GeoReport: the same request resent is recognised by its content.
        "external_id": f"{client.id}:{hashlib.sha256(fingerprint.encode()).hexdigest()[:40]}",
        "channel": "web",
        "received_at": utcnow().isoformat(),
        "enterprise": {
            "credit_code": form.get("attribute[credit_code]", ""),
            "name": form.get("attribute[enterprise_name]", ""),
        },
        "contact": {"name": contact[:100], "phone": form.get("phone", "")},
        "address": address,
        "title": names[code][:200],
        "text": form.get("description", ""),
        "appeal_type": form.get("attribute[appeal_type]") or AppealType.COMPLAINT.value,
    }
    try:
        data = TicketCreate.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _OPEN311_FIELD.get(".".join(str(p) for p in first["loc"]), str(first["loc"][0]))
        raise GeoReportError(400, f"{where} 不合格：{first['msg']}") from None
    user = acting_user(session, name=f"open311:{client.name}")
    ticket, created = service.intake(
        session,
        serving=serving,
        connectors=connectors,
        data=data,
        user=user,
        policy=policy,
        routing=routing,
    )
    if created:
        session.add(
            Open311Request(ticket_id=id_of(ticket), client_id=id_of(client), service_code=code)
        )
        session.flush()
    return ticket, created


_OPEN311_FIELD = {
    "enterprise.credit_code": "attribute[credit_code]",
    "enterprise.name": "attribute[enterprise_name]",
    "contact.phone": "phone",
    "contact.name": "first_name",
    "text": "description",
    "appeal_type": "attribute[appeal_type]",
    "address": "address_string",
}


def service_notice(session: Session, ticket: Ticket) -> str:
    """What happens next, in a sentence."""
    if ticket.lead_unit:
        unit = session.get(Unit, ticket.lead_unit)
        return f"已受理，由{unit.name if unit else ticket.lead_unit}办理"
    return "已受理，正在分拨承办单位"


def _instant(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise GeoReportError(400, f"{name} 应为 W3C 时间，如 2010-01-01T00:00:00Z") from None
    if parsed.tzinfo is None:
        raise GeoReportError(400, f"{name} 须带时区（Z 或 ±HH:MM）")
    return parsed


def requests(
    session: Session, *, client: Open311Client, query: dict[str, str]
) -> list[dict[str, Any]]:
    """GET Service Requests: the client's own, by ids or by codes, dates (≤ 90 days) and status."""
    rows = (
        select(Ticket, Open311Request.service_code)
        .join(Open311Request, col(Open311Request.ticket_id) == col(Ticket.id))
        .where(Open311Request.client_id == client.id)
    )
    ids = [i.strip() for i in query.get("service_request_id", "").split(",") if i.strip()]
    if ids:
        if not all(i.isdigit() for i in ids):
            raise GeoReportError(400, "service_request_id 应为以逗号分隔的数字")
        rows = rows.where(col(Ticket.id).in_([int(i) for i in ids]))  # it overrides the rest
    else:
        end = _instant(query.get("end_date"), "end_date") or utcnow()
        start = _instant(query.get("start_date"), "start_date") or end - MAX_SPAN
        if end - start > MAX_SPAN:
            raise GeoReportError(400, "start_date 与 end_date 的跨度不得超过 90 天")
        rows = rows.where(col(Ticket.received_at) >= start, col(Ticket.received_at) <= end)
        codes = [c.strip() for c in query.get("service_code", "").split(",") if c.strip()]
        if codes:
            rows = rows.where(col(Open311Request.service_code).in_(codes))
        statuses = {s.strip() for s in query.get("status", "").split(",") if s.strip()}
        if statuses - {"open", "closed"}:
            raise GeoReportError(400, "status 只能是 open 或 closed")
        if statuses == {"closed"}:
            rows = rows.where(Ticket.status == TicketStatus.CLOSED)
        elif statuses == {"open"}:
            rows = rows.where(Ticket.status != TicketStatus.CLOSED)
    found = session.exec(rows.order_by(col(Ticket.id)).limit(MAX_ROWS)).all()
    names = _service_names(session)
    return [present(session, ticket, names.get(code, code), code) for ticket, code in found]


def one_request(session: Session, *, client: Open311Client, request_id: int) -> dict[str, Any]:
    """GET Service Request: one of the client's requests, or 404."""
    found = requests(session, client=client, query={"service_request_id": str(request_id)})
    if not found:
        raise GeoReportError(404, f"没有编号为 {request_id} 的诉求")
    return found[0]


def _w3(at: datetime | None) -> str | None:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if at else None


def present(session: Session, ticket: Ticket, name: str, code: str) -> dict[str, Any]:
    """A ticket as a GeoReport service request."""
    unit = session.get(Unit, ticket.lead_unit) if ticket.lead_unit else None
    reply = next((d for d in clocks.of_ticket(session, ticket_id=id_of(ticket))
                  if d.stage == Stage.REPLY and d.due_at), None)  # fmt: skip
    return {
        "service_request_id": ticket.id,
        "status": "closed" if ticket.status == TicketStatus.CLOSED else "open",
        "status_notes": STATUS_NOTES[ticket.status],
        "service_name": name,
        "service_code": code,
        "description": ticket.text,
        "agency_responsible": unit.name if unit else None,
        "service_notice": service_notice(session, ticket),
        "requested_datetime": _w3(ticket.received_at),
        "updated_datetime": _w3(ticket.closed_at or ticket.updated_at),
        "expected_datetime": _w3(reply.due_at) if reply else None,
        "address": ticket.address,
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }
