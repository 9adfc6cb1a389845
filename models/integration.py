"""The city platform connector's tables: pull cursors, seen signatures, dead letters, outbound."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import AwareDateTime, EnumString, utcnow


class PlatformCursor(SQLModel, table=True):
    """Where the poller of one source stopped: the platform's cursor after the last page."""

    __tablename__ = "platform_cursor"

    source: str = Field(primary_key=True, max_length=64)
    cursor: str = Field(default="", max_length=256)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class InboundSignature(SQLModel, table=True):
    """A pushed request's signature, kept while its timestamp is in the window: a replay clashes."""

    __tablename__ = "inbound_signature"

    signature: str = Field(primary_key=True, max_length=128)
    source: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=AwareDateTime, index=True)


class DeadLetterState(StrEnum):
    """Whether a dead letter still waits for an administrator."""

    PENDING = "pending"
    REPLAYED = "replayed"


class DeadLetter(SQLModel, table=True):
    """An order that could not be taken in (malformed, unmappable), kept whole for a replay."""

    __tablename__ = "dead_letter"
    __table_args__ = (Index("ix_dead_letter_source_state", "source", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    external_id: str | None = Field(default=None, max_length=128)
    via: str = Field(max_length=8)  # push | pull
    received_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    digest: str = Field(max_length=64, index=True)  # the payload's SHA-256: one row per order text
    reason: str = Field(sa_type=Text)
    field: str | None = Field(default=None, max_length=128)
    state: DeadLetterState = Field(
        default=DeadLetterState.PENDING, sa_type=EnumString(DeadLetterState, 16)
    )
    attempts: int = 1
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    replayed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class OutboundState(StrEnum):
    """Whether the platform has taken a step report."""

    PENDING = "pending"
    DELIVERED = "delivered"
    SKIPPED = "skipped"  # an administrator gave it up, so the ticket's later reports go on


class PlatformOrder(SQLModel, table=True):
    """The version of a platform's order that qisu last applied; older versions are ignored."""

    __tablename__ = "platform_order"

    source: str = Field(primary_key=True, max_length=64)
    external_id: str = Field(primary_key=True, max_length=128)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    revision: datetime | None = Field(default=None, sa_type=AwareDateTime)
    state: str = Field(default="open", max_length=16)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class OutboundEvent(SQLModel, table=True):
    """One loop step to report to a ticket's source platform, queued with the step itself."""

    __tablename__ = "outbound_event"
    __table_args__ = (
        Index("ix_outbound_due", "state", "next_attempt_at"),
        Index("ix_outbound_ticket_order", "ticket_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    source: str = Field(max_length=64)
    action: str = Field(max_length=32)
    # The platform de-duplicates on it, so a retry after a lost answer is seen once.
    idempotency_key: str = Field(max_length=200, unique=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    state: OutboundState = Field(
        default=OutboundState.PENDING, sa_type=EnumString(OutboundState, 16)
    )
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_error: str | None = Field(default=None, max_length=1000)


class Open311Client(SQLModel, table=True):
    """A civic tool allowed to file appeals over Open311; its API key is kept only hashed."""

    __tablename__ = "open311_client"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    key_hash: str = Field(max_length=64, unique=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class Open311Request(SQLModel, table=True):
    """Which client filed a ticket over Open311, and under which service code."""

    __tablename__ = "open311_request"

    ticket_id: int = Field(primary_key=True, foreign_key="ticket.id")
    client_id: int = Field(foreign_key="open311_client.id", index=True)
    service_code: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class ChannelDelivery(SQLModel, table=True):
    """One notification to one phone or mailbox, sent and retried on its own."""

    __tablename__ = "channel_delivery"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", "address", name="uq_channel_delivery"),
        Index("ix_channel_delivery_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id", index=True)
    channel: str = Field(max_length=8)  # sms | email
    address: str = Field(max_length=200)
    state: str = Field(default="pending", max_length=16)  # pending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_error: str | None = Field(default=None, max_length=1000)


class EnterpriseReceipt(SQLModel, table=True):
    """The receipt code an enterprise follows its appeal with (with its phone's last digits)."""

    __tablename__ = "enterprise_receipt"

    code: str = Field(primary_key=True, max_length=16)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class RateCounter(SQLModel, table=True):
    """Requests counted per key (an address, a credit code, a receipt) in a fixed window."""

    __tablename__ = "rate_counter"

    key: str = Field(primary_key=True, max_length=160)
    window_start: datetime = Field(sa_type=AwareDateTime)
    count: int = 0
