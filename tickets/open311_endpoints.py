"""Open311 GeoReport v2 routes (`/open311/v2`), each in JSON or XML as the path's suffix says."""

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response

from core.db import SessionDep
from core.errors import DomainError
from deadlines.policy import PolicyDep
from integrations import georeport
from integrations.settings import IntegrationsDep
from routing.model import ServingModelDep
from routing.settings import RoutingDep
from tickets import open311
from tickets.connectors import ConnectorsDep
from tickets.inbound_endpoints import raw_body

router = APIRouter(prefix="/open311/v2", tags=["open311"])


def _answer(
    fmt: str, session: Any, build: Callable[[], tuple[str, str | None, Any, int]]
) -> Response:
    """Run `build` and render its document, or the spec's error document (nothing written)."""
    if fmt not in georeport.FORMATS:
        body, media = georeport.errors("json", 404, f"不支持的格式 {fmt!r}：请用 .json 或 .xml")
        return Response(body, status_code=404, media_type=media)
    try:
        root, item, document, status = build()
    except DomainError as exc:
        session.rollback()
        body, media = georeport.errors(fmt, exc.status_code, exc.message)
        return Response(body, status_code=exc.status_code, media_type=media)
    body, media = georeport.render(fmt, root, item, document)
    return Response(body, status_code=status, media_type=media)


def _jurisdiction(params: dict[str, str], served: str) -> None:
    wanted = params.get("jurisdiction_id")
    if wanted and wanted != served:
        raise open311.GeoReportError(404, f"本接口不服务于 jurisdiction_id {wanted!r}")


@router.get("/services.{fmt}")
def service_list(
    fmt: str, request: Request, session: SessionDep, integrations: IntegrationsDep
) -> Response:
    """GET Service List: the matter classes qisu routes to."""

    def build() -> tuple[str, str | None, Any, int]:
        _jurisdiction(dict(request.query_params), integrations.open311_jurisdiction)
        return "services", "service", open311.services(session), 200

    return _answer(fmt, session, build)


@router.get("/services/{code}.{fmt}")
def service_definition(
    code: str, fmt: str, request: Request, session: SessionDep, integrations: IntegrationsDep
) -> Response:
    """GET Service Definition: the attributes an appeal needs (the enterprise, its type)."""

    def build() -> tuple[str, str | None, Any, int]:
        _jurisdiction(dict(request.query_params), integrations.open311_jurisdiction)
        return "service_definition", None, open311.definition(session, code=code), 200

    return _answer(fmt, session, build)


@router.post("/requests.{fmt}")
def post_request(
    fmt: str,
    session: SessionDep,
    connectors: ConnectorsDep,
    routing: RoutingDep,
    serving: ServingModelDep,
    policy: PolicyDep,
    integrations: IntegrationsDep,
    body: Annotated[bytes, Depends(raw_body)],
) -> Response:
    """POST Service Request (form-encoded, with api_key): an appeal through intake."""
    form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))

    def build() -> tuple[str, str | None, Any, int]:
        client = open311.client_for(session, key=form.get("api_key"), action="提交诉求")
        _jurisdiction(form, integrations.open311_jurisdiction)
        ticket, created = open311.file_request(
            session,
            serving=serving,
            connectors=connectors,
            client=client,
            form=form,
            policy=policy,
            routing=routing,
        )
        answer = {
            "service_request_id": ticket.id,
            "service_notice": open311.service_notice(session, ticket),
            "account_id": None,
        }
        return "service_requests", "request", [answer], 201 if created else 200

    return _answer(fmt, session, build)


@router.get("/requests.{fmt}")
def get_requests(
    fmt: str, request: Request, session: SessionDep, integrations: IntegrationsDep
) -> Response:
    """GET Service Requests: the client's own, filtered as the spec allows."""
    params = dict(request.query_params)

    def build() -> tuple[str, str | None, Any, int]:
        client = open311.client_for(session, key=params.get("api_key"), action="查询诉求")
        _jurisdiction(params, integrations.open311_jurisdiction)
        return (
            "service_requests",
            "request",
            open311.requests(session, client=client, query=params),
            200,
        )

    return _answer(fmt, session, build)


@router.get("/requests/{request_id}.{fmt}")
def get_request(
    request_id: str, fmt: str, request: Request, session: SessionDep, integrations: IntegrationsDep
) -> Response:
    """GET Service Request: one of the client's requests."""
    params = dict(request.query_params)

    def build() -> tuple[str, str | None, Any, int]:
        client = open311.client_for(session, key=params.get("api_key"), action="查询诉求")
        _jurisdiction(params, integrations.open311_jurisdiction)
        if not request_id.isdigit():
            raise open311.GeoReportError(404, f"没有编号为 {request_id!r} 的诉求")
        found = open311.one_request(session, client=client, request_id=int(request_id))
        return "service_requests", "request", [found], 200

    return _answer(fmt, session, build)
