"""The outbox as administrators see it: every message, where it went, and what failed."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from accounts.dependencies import require_roles
from core.db import SessionDep
from core.validation import PageOffset, PageSize
from models import DeliveryState, Role, User
from tickets import channels
from tickets.integration_schemas import (
    ChannelDeliveryPublic,
    NotificationPage,
    NotificationPublic,
)

router = APIRouter(prefix="/api/v1", tags=["notifications"])


@router.get("/notifications", response_model=NotificationPage)
def list_notifications(
    session: SessionDep,
    _admin: Annotated[User, Depends(require_roles(Role.ADMIN))],
    state: Annotated[
        DeliveryState | None, Query(description="pending, delivered or failed.")
    ] = None,
    limit: PageSize = 50,
    offset: PageOffset = 0,
) -> NotificationPage:
    """Messages newest first, with their SMS and e-mail deliveries and the last errors."""
    count, rows = channels.list_notifications(session, state=state, limit=limit, offset=offset)
    items = [
        NotificationPublic(
            **message.model_dump(exclude={"data"}),
            deliveries=[
                ChannelDeliveryPublic.model_validate(d, from_attributes=True) for d in deliveries
            ],
        )
        for message, deliveries in rows
    ]
    return NotificationPage(count=count, limit=limit, offset=offset, items=items)
