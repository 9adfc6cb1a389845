"""Operations: Prometheus metrics of requests, intakes, routing, sweeps and the outbox."""

import time

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics
from models import DeliveryState, Notification


class RequestMetrics:
    """Count each request by its route's template and status, and time it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what an exception that escapes every handler becomes
        started = time.perf_counter()

        async def counted_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counted_send)
        finally:
            route = scope.get("route")
            # The template, not the path: one series per route, whatever the ids.
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            metrics.HTTP_REQUESTS.labels(method, template, str(status)).inc()
            metrics.HTTP_SECONDS.labels(method, template).observe(time.perf_counter() - started)


def refresh_outbox(session: Session) -> None:
    """Set the outbox gauges from the table (pending is the backlog, failed gave up)."""
    counts = dict(
        session.exec(
            select(Notification.state, func.count()).group_by(col(Notification.state))
        ).all()
    )
    for state in DeliveryState:
        metrics.OUTBOX.labels(str(state)).set(counts.get(state, 0))


def add_metrics_route(app: FastAPI) -> None:
    """`GET /metrics` in Prometheus's text format (per process; no personal data)."""

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        with Session(app.state.engine) as session:
            refresh_outbox(session)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
