"""The FastAPI application: routers, error handling, health checks."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session
from starlette.exceptions import HTTPException

from accounts.admin_endpoints import router as admin_router
from accounts.audit import record
from accounts.audit_endpoints import router as audit_router
from accounts.dependencies import SCOPE_USER, actor_of
from accounts.endpoints import router as accounts_router
from app.contract import document_errors, known_query_only
from app.guard import RequestGuard
from app.logs import configure_logging
from app.metrics import RequestMetrics, add_metrics_route
from app.scheduler import SWEEP_JOB, build_scheduler
from core import metrics
from core.config import Settings, get_settings
from core.db import is_unique_clash, make_engine
from core.errors import DomainError
from deadlines.policy import load_policy
from deadlines.working_time import SHANGHAI, WorkingCalendar
from evaluations.endpoints import router as evaluations_router
from evaluations.ranking_endpoints import router as rankings_router
from evaluations.rankings import load_weights
from evaluations.whistle_endpoints import router as whistles_router
from integrations.settings import IntegrationSettings, get_integration_settings
from models import AuditAction, AuditOutcome, SchedulerHeartbeat, utcnow
from routing.endpoints import router as routing_router
from routing.model import ServingModel
from routing.model_endpoints import router as models_router
from routing.settings import RoutingSettings
from tickets import connectors
from tickets.dashboard_endpoints import router as dashboard_router
from tickets.endpoints import router as tickets_router
from tickets.enterprise_endpoints import router as enterprise_router
from tickets.inbound_endpoints import router as inbound_router
from tickets.notification_endpoints import router as notifications_router
from tickets.open311_endpoints import router as open311_router
from tickets.outbound_endpoints import router as outbound_router
from units import service as units_service
from units.endpoints import admin_router as units_admin_router
from units.endpoints import router as units_router
from web.console import mount_console

log = logging.getLogger("qisu")


def _error(
    status: int,
    code: str,
    detail: str,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail, "code": code}
    if field:
        body["field"] = field
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(status_code=status, content=body, headers=headers)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}


def _field(loc: list[Any]) -> str | None:
    """The dotted name of the input a validation error is about (without body/query/path)."""
    parts = [str(part) for part in loc[1:]] if loc and loc[0] in _SOURCES else list(map(str, loc))
    return ".".join(parts) or None


_SOURCES = ("body", "query", "path", "header", "cookie")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        if exc.status_code == 403:
            await _record_refusal(request, exc)
        return _error(exc.status_code, exc.code, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Echoing the input back would repeat a 100,000-character text; say where and why.
        errors = [
            {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
            for err in exc.errors()
        ]
        field = _field(errors[0]["loc"]) if errors else None
        detail = f"{field or '请求'} 无效：{errors[0]['msg']}" if errors else "请求无效"
        return _error(422, "invalid_request", detail, field, errors)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or _HTTP_CODES.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))

    @app.exception_handler(StaleDataError)
    async def stale(_request: Request, _exc: StaleDataError) -> JSONResponse:
        return _error(
            409,
            "stale_version",
            "工单刚被他人同时修改，您的操作没有保存。请刷新页面，确认最新情况后再操作",
        )

    @app.exception_handler(IntegrityError)
    async def integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        if not is_unique_clash(exc):  # a broken constraint is a defect, not a rival's write
            log.error("a constraint failed", exc_info=exc)
            return _internal_error()
        log.warning("unique clash: %s", exc.orig)
        return _error(409, "conflict", "与刚刚保存的数据冲突，您的操作没有保存，请刷新后重试")

    # The server logs the traceback of what reaches here; the caller gets the one error shape.
    @app.exception_handler(Exception)
    async def internal(_request: Request, _exc: Exception) -> JSONResponse:
        return _internal_error()


def _internal_error() -> JSONResponse:
    return _error(500, "internal_error", "服务器内部错误，已记入日志，请稍后重试或联系管理员")


async def _record_refusal(request: Request, exc: DomainError) -> None:
    """A permission refusal goes to the audit log, in a transaction of its own."""
    user = request.scope.get(SCOPE_USER)
    if user is None:  # refused before the caller was known (a failed CSRF check)
        return
    route = request.scope.get("route")
    where = f"{request.method} {getattr(route, 'path', request.url.path)}"
    await run_in_threadpool(
        record,
        request.app.state.engine,
        actor=actor_of(request, user),
        action=AuditAction.REFUSED,
        outcome=AuditOutcome.REFUSED,
        target=where,
        detail=exc.code,
    )


def _calendar(calendar: WorkingCalendar) -> dict[str, str]:
    """This year's and next year's calendar: official, or counted Monday–Friday for now."""
    year = utcnow().astimezone(SHANGHAI).year
    return {
        str(y): "official" if calendar.has_schedule(y) else "monday-friday fallback (no schedule)"
        for y in (year, year + 1)
    }


def _heartbeat(beat: SchedulerHeartbeat | None, settings: Settings) -> dict[str, Any]:
    """The last sweep, from whichever process sweeps; stale after ten missed intervals."""
    if beat is None:
        return {"last_sweep": None, "stale": True}
    age = (utcnow() - beat.at).total_seconds()
    return {
        "last_sweep": beat.at.isoformat(),
        "age_seconds": round(age, 1),
        "sweep_seconds": round(beat.seconds, 3),
        "stale": age > 10 * settings.sweep_seconds,
    }


def create_app(
    settings: Settings,
    routing: RoutingSettings | None = None,
    integrations: IntegrationSettings | None = None,
) -> FastAPI:
    """Build the app; the engine is made when it starts, not at import.

    The app's configuration is read here and at its start, once, and kept on `app.state`;
    requests take it from there (`SettingsDep`, `PolicyDep`, `RoutingDep`, `IntegrationsDep`,
    `ConnectorsDep`), never from the environment; so does the model it serves
    (`ServingModelDep`).
    """
    routed = routing or RoutingSettings()  # QISU_ROUTING_* unless given
    # QISU_PLATFORM_* and the rest unless given; the connectors are loaded from them at start.
    platforms = integrations or get_integration_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A wrong policy file stops the start, naming its line; so do wrong ranking weights.
        app.state.policy = policy = load_policy(settings.sla_policy)
        app.state.weights = load_weights(settings.ranking_weights)
        # So do a wrong platform connector file and a unit map naming units the registry lacks.
        app.state.connectors = found = connectors.load(platforms)
        app.state.engine = make_engine(settings.effective_database_url)
        with Session(app.state.engine) as session:
            connectors.check_registry(session, found)
        app.state.serving_model = serving = ServingModel.served(settings.data_dir, routed)
        version = serving.warm()  # load the active model now, not on the first appeal
        metrics.MODEL.labels(version or "none").set(1)
        scheduler = None
        if settings.embedded_scheduler:
            scheduler = build_scheduler(
                app.state.engine,
                settings,
                policy,
                routed,
                platforms,
                found,
                serving,
                blocking=False,
            )
            scheduler.start()
        yield
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        app.state.engine.dispose()

    app = FastAPI(
        title="qisu 企诉",
        version="0.1.0",
        description="Routes enterprise appeals from the 12345 hotline and drives their loop.",
        lifespan=lifespan,
        dependencies=[Depends(known_query_only)],
    )
    app.state.settings, app.state.routing, app.state.integrations = settings, routed, platforms
    app.add_middleware(
        RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_seconds=settings.body_timeout_seconds,
        routes=lambda: iter_route_contexts(app.routes),
        engine=lambda: app.state.engine,
    )
    app.add_middleware(RequestMetrics)  # outermost: refusals by the guard are counted too
    _install_error_handlers(app)
    app.include_router(accounts_router)
    app.include_router(admin_router)
    app.include_router(audit_router)
    app.include_router(units_router)
    app.include_router(units_admin_router)
    app.include_router(tickets_router)
    app.include_router(routing_router)
    app.include_router(dashboard_router)
    app.include_router(models_router)
    app.include_router(evaluations_router)
    app.include_router(whistles_router)
    app.include_router(rankings_router)
    app.include_router(inbound_router)
    app.include_router(open311_router)
    app.include_router(notifications_router)
    app.include_router(enterprise_router)
    app.include_router(outbound_router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """The database answers and holds a unit registry."""
        try:
            with Session(app.state.engine) as session:
                session.exec(text("SELECT 1"))  # type: ignore[call-overload]
                empty = units_service.registry_is_empty(session)
                beat = session.get(SchedulerHeartbeat, SWEEP_JOB)
        except Exception as exc:  # readiness reports any failure instead of raising it
            return JSONResponse(
                status_code=503, content={"status": "unavailable", "database": str(exc)}
            )
        if empty:
            return JSONResponse(
                status_code=503, content={"status": "unavailable", "units": "none loaded"}
            )
        return JSONResponse(
            content={
                "status": "ready",
                "database": "ok",
                "calendar": _calendar(app.state.policy.calendar),
                "scheduler": _heartbeat(beat, settings),
            }
        )

    add_metrics_route(app)
    document_errors(app)
    mount_console(app)  # last: every path the API and its docs do not claim is the console's
    return app


def worker_app() -> FastAPI:
    """The app of one `qisu serve --workers N` process: its logging, then the app."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_file)
    return create_app(settings)
