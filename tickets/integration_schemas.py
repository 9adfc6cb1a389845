"""Request and response shapes of the platform connector's API."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class InboundAccepted(BaseModel):
    """A pushed order taken in (201) or already known (200)."""

    source: str
    external_id: str
    ticket_id: int
    created: bool


class DeadLetterPublic(BaseModel):
    """An order that could not be taken in, as an administrator sees it."""

    id: int
    source: str
    external_id: str | None
    via: str
    received_at: datetime
    reason: str
    field: str | None
    state: str
    attempts: int
    ticket_id: int | None
    replayed_at: datetime | None
    payload: dict[str, Any]


class DeadLetterPage(BaseModel):
    """A page of dead letters, newest first."""

    count: int
    limit: int
    offset: int
    items: list[DeadLetterPublic]


class ReplayResult(BaseModel):
    """A dead letter taken in at last."""

    dead_letter: DeadLetterPublic
    ticket_id: int
