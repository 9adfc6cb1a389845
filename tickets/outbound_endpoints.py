"""Step reports the platform has not taken, for administrators: list, retry now, skip."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from accounts.dependencies import require_roles
from core.db import SessionDep
from core.validation import PageOffset, PageSize, PathId
from models import OutboundEvent, Role, User, utcnow
from tickets import outbound_admin
from tickets.integration_schemas import SkipIn, StuckReportPage, StuckReportPublic
from tickets.lifecycle import ACTION_NAMES

router = APIRouter(prefix="/api/v1/outbound", tags=["integrations"])

AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]


def _present(event: OutboundEvent, held_back: int) -> StuckReportPublic:
    age = (utcnow() - event.created_at).total_seconds()
    return StuckReportPublic(
        **event.model_dump(exclude={"payload", "idempotency_key", "delivered_at"}),
        action_name=ACTION_NAMES.get(event.action, event.action),
        age_seconds=max(0, int(age)),
        held_back=held_back,
    )


@router.get("/stuck", response_model=StuckReportPage)
def list_stuck(
    session: SessionDep,
    _admin: AdminUser,
    source: Annotated[str | None, Query(max_length=64)] = None,
    min_attempts: Annotated[int, Query(ge=0, le=1_000_000)] = 1,
    limit: PageSize = 50,
    offset: PageOffset = 0,
) -> StuckReportPage:
    """Undelivered reports tried at least `min_attempts` times, oldest first."""
    count, rows = outbound_admin.stuck(
        session, source=source, min_attempts=min_attempts, limit=limit, offset=offset
    )
    items = [_present(event, held_back) for event, held_back in rows]
    return StuckReportPage(count=count, limit=limit, offset=offset, items=items)


@router.post("/{event_id}/retry", response_model=StuckReportPublic)
def retry_report(event_id: PathId, session: SessionDep, _admin: AdminUser) -> StuckReportPublic:
    """Send a pending report at the next delivery round instead of after its backoff."""
    event = outbound_admin.retry(session, event_id=event_id, now=utcnow())
    return _present(event, 0)


@router.post("/{event_id}/skip", response_model=StuckReportPublic)
def skip_report(
    event_id: PathId, body: SkipIn, session: SessionDep, admin: AdminUser
) -> StuckReportPublic:
    """Give a report up, so the ticket's later reports go on; the reason stays on the row."""
    event = outbound_admin.skip(session, event_id=event_id, user=admin, reason=body.reason)
    return _present(event, 0)
