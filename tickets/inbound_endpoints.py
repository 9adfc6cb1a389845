"""HTTP routes of the city platform connector: pushed orders and the dead letters."""

import json
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from accounts.dependencies import require_roles
from core.db import SessionDep, session_scope
from core.validation import PageOffset, PageSize, PathId
from deadlines.policy import PolicyDep
from integrations import signing
from integrations.mapping import MappingError
from integrations.settings import IntegrationsDep
from models import DeadLetterState, Role, User, id_of
from routing.model import ServingModelDep
from routing.settings import RoutingDep
from tickets import inbound
from tickets.connectors import ConnectorsDep
from tickets.integration_schemas import (
    DeadLetterPage,
    DeadLetterPublic,
    InboundAccepted,
    ReplayResult,
)

router = APIRouter(prefix="/api/v1/inbound", tags=["integrations"])

AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]


async def raw_body(request: Request) -> bytes:
    """The body exactly as sent: the signature covers these bytes."""
    return await request.body()


@router.post(
    "/{source}",
    response_model=InboundAccepted,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "A known order: its newer version applied, or nothing to do."},
        401: {"description": "Unsigned, a wrong signature, or outside the time window."},
        404: {"description": "No connector for this source."},
        409: {"description": "A replayed request (its signature was used already)."},
        422: {"description": "The order cannot be mapped; it is kept as a dead letter."},
    },
)
def push(
    source: str,
    request: Request,
    session: SessionDep,
    routing: RoutingDep,
    serving: ServingModelDep,
    policy: PolicyDep,
    integrations: IntegrationsDep,
    connectors: ConnectorsDep,
    response: Response,
    body: Annotated[bytes, Depends(raw_body)],
) -> InboundAccepted:
    """A work order the platform pushes, signed: HMAC-SHA256 of `<timestamp>.<nonce>.<body>`."""
    connector = inbound.connector_for(source, connectors)
    window = integrations.platform_window_seconds
    try:
        stamp = signing.verify(
            integrations.platform_secrets[source],
            timestamp=request.headers.get(signing.TIMESTAMP_HEADER),
            nonce=request.headers.get(signing.NONCE_HEADER),
            signature=request.headers.get(signing.SIGNATURE_HEADER),
            body=body,
            now=time.time(),
            window=window,
        )
    except signing.SignatureRefused as exc:
        inbound.log.warning("push to %s refused: %s (%s)", source, exc.code, exc.reason)
        raise inbound.InboundRefused(401, exc.code, exc.reason) from None
    # Mapped before the request's own transaction begins: a dead letter commits on its own,
    # while the refusal rolls back everything else.
    try:
        try:
            order = json.loads(body)
        except ValueError:
            raise MappingError("请求体不是合法的 JSON") from None
        data, change = inbound.map_order(connector, order)
    except MappingError as exc:
        engine = request.app.state.engine
        with session_scope(engine, write=True) as own:
            letter = inbound.dead_letter(
                own,
                connector=connector,
                payload=_readable(body),
                via="push",
                error=exc,
            )
        raise inbound.Unmappable(
            f"{exc.reason}（已存入死信 {letter.id}）",
            field=exc.field,
            dead_letter_id=id_of(letter),
        ) from None
    inbound.remember_signature(
        session,
        source=source,
        signature=request.headers[signing.SIGNATURE_HEADER].strip().lower(),
        stamp=stamp,
        window=window,
    )
    ticket, created, outcome = inbound.take_in(
        session,
        serving=serving,
        connectors=connectors,
        connector=connector,
        data=data,
        change=change,
        policy=policy,
        routing=routing,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return InboundAccepted(
        source=source,
        external_id=data.external_id,
        ticket_id=id_of(ticket),
        created=created,
        outcome=outcome,
    )


def _readable(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")[:100_000]


@router.get("/dead-letters", response_model=DeadLetterPage)
def dead_letters(
    session: SessionDep,
    _admin: AdminUser,
    source: str | None = None,
    state: DeadLetterState | None = None,
    limit: PageSize = 50,
    offset: PageOffset = 0,
) -> DeadLetterPage:
    """Orders that could not be taken in, newest first."""
    count, rows = inbound.list_dead_letters(
        session, source=source, state=state, limit=limit, offset=offset
    )
    items = [DeadLetterPublic.model_validate(row, from_attributes=True) for row in rows]
    return DeadLetterPage(count=count, limit=limit, offset=offset, items=items)


@router.post("/dead-letters/{letter_id}/replay", response_model=ReplayResult)
def replay_dead_letter(
    letter_id: PathId,
    session: SessionDep,
    routing: RoutingDep,
    serving: ServingModelDep,
    policy: PolicyDep,
    connectors: ConnectorsDep,
    _admin: AdminUser,
) -> ReplayResult:
    """Take a dead letter in again with the connector as configured now."""
    letter, ticket = inbound.replay(
        session,
        serving=serving,
        letter_id=letter_id,
        policy=policy,
        routing=routing,
        connectors=connectors,
    )
    return ReplayResult(
        dead_letter=DeadLetterPublic.model_validate(letter, from_attributes=True),
        ticket_id=id_of(ticket),
    )
