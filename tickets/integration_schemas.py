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


class ChannelDeliveryPublic(BaseModel):
    """A message's delivery to one phone (sms) or mailbox (email)."""

    channel: str
    address: str
    state: str
    attempts: int
    delivered_at: datetime | None
    last_error: str | None


class NotificationPublic(BaseModel):
    """An outbox message: its log-and-webhook state and its deliveries to people."""

    id: int
    created_at: datetime
    recipient: str
    kind: str
    ticket_id: int | None
    text: str
    state: str
    attempts: int
    delivered_at: datetime | None
    last_error: str | None
    deliveries: list[ChannelDeliveryPublic]


class NotificationPage(BaseModel):
    """A page of messages, newest first."""

    count: int
    limit: int
    offset: int
    items: list[NotificationPublic]
