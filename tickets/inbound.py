"""Orders from a city platform, pushed or pulled, through the same intake as every appeal.

An order that cannot be mapped or validated becomes a dead letter an administrator can replay;
it never stops the orders behind it.
"""

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.db import session_scope
from core.errors import DomainError, InvalidInput, NotFound
from deadlines.policy import SlaPolicy
from integrations.mapping import Connector, MappingError, OrderChange
from integrations.platform import FetchError, PlatformClient
from models import (
    DeadLetter,
    DeadLetterState,
    InboundSignature,
    PlatformCursor,
    Ticket,
    utcnow,
)
from routing.model import ServingModel
from routing.settings import RoutingSettings
from tickets import platform_changes
from tickets.connectors import Connectors, acting_user
from tickets.schemas import TicketCreate

log = logging.getLogger("qisu.inbound")


class InboundRefused(DomainError):
    """A pushed request refused before anything is read from it (signature, replay, source)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code, self.code = status, code


class Unmappable(InvalidInput):
    """An order the connector cannot turn into an appeal; it is kept as a dead letter."""

    code = "unmappable_order"

    def __init__(self, message: str, *, field: str | None, dead_letter_id: int) -> None:
        super().__init__(message, field=field)
        self.dead_letter_id = dead_letter_id


def connector_for(source: str, connectors: Connectors) -> Connector:
    """The source's connector among `connectors`, or 404 for a source qisu does not know."""
    found = connectors.get(source)
    if found is None:
        raise InboundRefused(
            404, "unknown_source", f"未知的来源 {source[:64]!r}：未配置该平台的对接"
        )
    return found


def map_order(connector: Connector, order: Any) -> tuple[TicketCreate, OrderChange]:
    """The intake body for an order and its state; MappingError says which field is wrong."""
    body = connector.apply(order)
    change = connector.change(order)
    try:
        return TicketCreate.model_validate(body), change
    except ValidationError as exc:
        first = exc.errors()[0]
        qisu_field = ".".join(str(p) for p in first["loc"])
        platform_field = _platform_field(connector, qisu_field)
        raise MappingError(
            f"字段 {platform_field} 不合格：{first['msg']}", platform_field
        ) from None


_INTAKE_TO_MAPPING = {
    "enterprise.credit_code": "credit_code",
    "enterprise.name": "enterprise_name",
    "contact.name": "contact_name",
    "contact.phone": "contact_phone",
}


def _platform_field(connector: Connector, qisu_field: str) -> str:
    name = _INTAKE_TO_MAPPING.get(qisu_field, qisu_field)
    return connector.fields.get(name, qisu_field)


def take_in(
    session: Session,
    *,
    connector: Connector,
    data: TicketCreate,
    change: OrderChange,
    policy: SlaPolicy,
    routing: RoutingSettings,
    serving: ServingModel,
    connectors: Connectors,
) -> tuple[Ticket, bool, platform_changes.Outcome]:
    """Intake as the source's user, idempotent on (source, order id) and routed like any
    appeal; a known order's newer version changes or withdraws its ticket."""
    user = acting_user(session, name=f"平台:{connector.source}")
    return platform_changes.take_in(
        session,
        serving=serving,
        connectors=connectors,
        data=data,
        change=change,
        user=user,
        policy=policy,
        routing=routing,
    )


def remember_signature(
    session: Session, *, source: str, signature: str, stamp: int, window: float
) -> None:
    """Store a pushed request's signature until its window ends; a second use is a replay."""
    expires = datetime.fromtimestamp(stamp, tz=utcnow().tzinfo) + timedelta(seconds=window)
    try:
        with session.begin_nested():
            session.add(InboundSignature(signature=signature, source=source, expires_at=expires))
            session.flush()
    except IntegrityError:
        raise InboundRefused(409, "replayed", "重放的请求：该签名已使用过，已拒绝") from None


def forget_expired_signatures(engine: Engine, *, now: datetime) -> int:
    """Drop signatures whose timestamp has left the window (the window itself refuses them)."""
    with session_scope(engine, write=True) as session:
        result = session.execute(
            delete(InboundSignature).where(col(InboundSignature.expires_at) < now)
        )
    return int(getattr(result, "rowcount", 0) or 0)


def _digest(payload: Any) -> str:
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def dead_letter(
    session: Session,
    *,
    connector: Connector,
    payload: Any,
    via: str,
    error: MappingError,
) -> DeadLetter:
    """Keep an order that could not be taken in; the same order again counts on its row."""
    wrapped = payload if isinstance(payload, dict) else {"raw": payload}
    digest = _digest(wrapped)
    existing = session.exec(
        select(DeadLetter).where(
            DeadLetter.source == connector.source,
            DeadLetter.digest == digest,
            DeadLetter.state == DeadLetterState.PENDING,
        )
    ).first()
    if existing is not None:
        existing.attempts += 1
        existing.reason, existing.field = error.reason, error.field
        session.add(existing)
        session.flush()
        return existing
    letter = DeadLetter(
        source=connector.source,
        external_id=connector.external_id(payload),
        via=via,
        payload=wrapped,
        digest=digest,
        reason=error.reason,
        field=error.field,
    )
    session.add(letter)
    session.flush()
    log.warning("dead letter %s from %s (%s): %s", letter.id, connector.source, via, error.reason)
    return letter


def list_dead_letters(
    session: Session, *, source: str | None, state: DeadLetterState | None, limit: int, offset: int
) -> tuple[int, list[DeadLetter]]:
    """Dead letters, newest first."""
    where = []
    if source:
        where.append(col(DeadLetter.source) == source)
    if state:
        where.append(col(DeadLetter.state) == state)
    count = session.exec(select(func.count()).select_from(DeadLetter).where(*where)).one()
    rows = session.exec(
        select(DeadLetter)
        .where(*where)
        .order_by(col(DeadLetter.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return int(count), list(rows)


def replay(
    session: Session,
    *,
    letter_id: int,
    policy: SlaPolicy,
    routing: RoutingSettings,
    serving: ServingModel,
    connectors: Connectors,
) -> tuple[DeadLetter, Ticket]:
    """Take a dead letter in again with the connector as now configured."""
    letter = session.get(DeadLetter, letter_id)
    if letter is None:
        raise NotFound(f"没有编号为 {letter_id} 的死信")
    if letter.state != DeadLetterState.PENDING:
        raise InvalidInput(
            f"死信 {letter_id} 已于 {letter.replayed_at} 重放，对应工单 {letter.ticket_id}"
        )
    connector = connector_for(letter.source, connectors)
    # A body that was no JSON object was kept wrapped as {"raw": ...}.
    payload: Any = letter.payload
    if set(payload) == {"raw"}:
        payload = payload["raw"]
    try:
        data, change = map_order(connector, payload)
    except MappingError as exc:
        raise InvalidInput(f"仍无法映射：{exc.reason}", field=exc.field) from None
    ticket, _, _ = take_in(
        session,
        serving=serving,
        connectors=connectors,
        connector=connector,
        data=data,
        change=change,
        policy=policy,
        routing=routing,
    )
    letter.state = DeadLetterState.REPLAYED
    letter.replayed_at = utcnow()
    letter.ticket_id = ticket.id
    session.add(letter)
    session.flush()
    return letter, ticket


def _take_page(
    session: Session,
    *,
    connector: Connector,
    orders: list[Any],
    policy: SlaPolicy,
    routing: RoutingSettings,
    serving: ServingModel,
    connectors: Connectors,
) -> tuple[int, int]:
    """Each order of a page in its own savepoint; returns (taken in, dead-lettered)."""
    taken = dead = 0
    for order in orders:
        try:
            data, change = map_order(connector, order)
            with session.begin_nested():
                take_in(
                    session,
                    serving=serving,
                    connectors=connectors,
                    connector=connector,
                    data=data,
                    change=change,
                    policy=policy,
                    routing=routing,
                )
            taken += 1
        except MappingError as exc:
            dead_letter(session, connector=connector, payload=order, via="pull", error=exc)
            dead += 1
        except DomainError as exc:  # intake refused it (an unknown unit, a bad value)
            error = MappingError(exc.message, exc.field)
            dead_letter(session, connector=connector, payload=order, via="pull", error=error)
            dead += 1
    return taken, dead


def poll(
    engine: Engine,
    *,
    client: PlatformClient,
    policy: SlaPolicy,
    routing: RoutingSettings,
    serving: ServingModel,
    connectors: Connectors,
    max_pages: int = 50,
) -> tuple[int, int]:
    """Fetch new and changed orders since the stored cursor, page by page; returns (taken, dead).

    Each page and the cursor after it commit together: a crash mid-page repeats the page, and
    intake's idempotency makes the repeat harmless.
    """
    connector = client.connector
    taken = dead = 0
    for _ in range(max_pages):
        with session_scope(engine) as session:
            row = session.get(PlatformCursor, connector.source)
            cursor = row.cursor if row else ""
        try:
            page = client.fetch_page(cursor)
        except FetchError as exc:
            log.warning("poll of %s stopped: %s", connector.source, exc)
            break
        with session_scope(engine, write=True) as session:
            got, lost = _take_page(
                session,
                serving=serving,
                connectors=connectors,
                connector=connector,
                orders=page.orders,
                policy=policy,
                routing=routing,
            )
            row = session.get(PlatformCursor, connector.source) or PlatformCursor(
                source=connector.source
            )
            row.cursor, row.updated_at = page.next_cursor, utcnow()
            session.add(row)
        taken, dead = taken + got, dead + lost
        if not page.more or not page.orders:
            break
    if taken or dead:
        log.info("poll of %s: %s orders taken in, %s dead letters", connector.source, taken, dead)
    return taken, dead
