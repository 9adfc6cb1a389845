"""HTTP routes of the district at a glance (区营商办): one route per chart, over one span."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from accounts.dependencies import require_roles
from core.db import SessionDep
from core.timezone import local_span
from core.validation import Instant
from models import Role, User, utcnow
from tickets import dashboard

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"])

Supervisor = Annotated[User, Depends(require_roles(Role.SUPERVISOR))]
From = Annotated[
    Instant | None,
    Query(alias="from", description="Start; a bare date or a time without offset is Shanghai's."),
]
To = Annotated[Instant | None, Query(alias="to", description="End (exclusive); default now.")]


def _span(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """The asked span, by default the last 30 days."""
    until = until or utcnow()
    return local_span(since or until - timedelta(days=30), until)


def _chart(
    session: Session,
    since: datetime | None,
    until: datetime | None,
    figure: Callable[..., dict[str, object]],
) -> dict[str, Any]:
    start, end = _span(since, until)
    return {"from": start, "to": end, **figure(session, start=start, end=end)}


@router.get("/volume")
def volume(session: SessionDep, user: Supervisor, since: From = None, until: To = None) -> Any:
    """Appeals per day (Shanghai) and per channel: {days, channels: [{channel, counts}]}."""
    return _chart(session, since, until, dashboard.volume)


@router.get("/units")
def units(session: SessionDep, user: Supervisor, since: From = None, until: To = None) -> Any:
    """Appeals by lead unit and by 街镇, largest first."""
    return _chart(session, since, until, dashboard.by_unit)


@router.get("/funnel")
def funnel(session: SessionDep, user: Supervisor, since: From = None, until: To = None) -> Any:
    """The loop's funnel with the share on time at each step, and each step's statuses."""
    return _chart(session, since, until, dashboard.funnel)


@router.get("/rates")
def rates(session: SessionDep, user: Supervisor, since: From = None, until: To = None) -> Any:
    """签收及时率, 按时办结率 and 满意率 per department."""
    return _chart(session, since, until, dashboard.rates)


@router.get("/repeats")
def repeats(session: SessionDep, user: Supervisor, since: From = None, until: To = None) -> Any:
    """Repeat appeals by lead unit and their share of the span's appeals."""
    return _chart(session, since, until, dashboard.repeats)


@router.get("/routing")
def routing(session: SessionDep, user: Supervisor, since: From = None, until: To = None) -> Any:
    """Intake decisions per model version and the share routing left to triage."""
    return _chart(session, since, until, dashboard.routing_share)
