"""Deadlines (the database row is the timer) and the notification outbox."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from models.base import AwareDateTime, EnumString, utcnow


class DeadlineEvent(StrEnum):
    """What the sweep writes to a ticket's or a whistle's history."""

    WARNED = "deadline_warned"
    BREACHED = "deadline_breached"


class Stage(StrEnum):
    """The stage of the loop a deadline times."""

    ACKNOWLEDGE = "acknowledge"  # 签收
    CONTACT = "contact"  # 先行联系
    REPLY = "reply"  # 答复 / 办结
    CALLBACK = "callback"  # 回访
    RETURN_WINDOW = "return_window"  # 退单 is allowed until it passes
    REPORT = "report"  # a whistled department's 报到
    OUTCOME = "outcome"  # a whistled department's outcome


TICKET_STAGES = (
    Stage.ACKNOWLEDGE,
    Stage.CONTACT,
    Stage.REPLY,
    Stage.CALLBACK,
    Stage.RETURN_WINDOW,
)
WHISTLE_STAGES = (Stage.REPORT, Stage.OUTCOME)


class DeadlineStatus(StrEnum):
    """Where a deadline stands; a breached deadline stays breached when it is met late."""

    PENDING = "pending"
    WARNED = "warned"
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"


OPEN_STATUSES = (DeadlineStatus.PENDING, DeadlineStatus.WARNED)


class Deadline(SQLModel, table=True):
    """One stage's time limit for a ticket or a whistle; due_at is empty while paused."""

    __table_args__ = (
        Index("ix_deadline_due", "status", "due_at"),
        Index("ix_deadline_warn", "status", "warn_at"),
        # Cover the listings: which tickets have a breached, warned or running deadline, and
        # each ticket's lights and next deadline, without reading the rows themselves.
        Index("ix_deadline_ticket_state", "status", "met_at", "stage", "ticket_id"),
        Index("ix_deadline_ticket_clock", "ticket_id", "status", "stage", "met_at", "due_at"),
        # Cover the rates of a span (tickets.kpis, the dashboard, rankings).
        Index(
            "ix_deadline_started_cover",
            "stage",
            "started_at",
            "unit_code",
            "status",
            "ticket_id",
            "whistle_id",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    whistle_id: int | None = Field(default=None, foreign_key="whistle.id", index=True)
    unit_code: str | None = Field(default=None, max_length=64, foreign_key="unit.code", index=True)
    stage: Stage = Field(sa_type=EnumString(Stage, 16))
    status: DeadlineStatus = Field(
        default=DeadlineStatus.PENDING, sa_type=EnumString(DeadlineStatus, 16)
    )
    started_at: datetime = Field(sa_type=AwareDateTime)
    # The limit in hours: working hours, or clock hours when `clock` is set.
    limit_hours: float
    clock: bool = False
    paused_hours: float = 0.0
    paused_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    warn_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    due_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # Counted Monday–Friday because the year's holidays were not known; recomputed later.
    fallback: bool = False
    warned_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    breached_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    met_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)

    @property
    def overdue(self) -> bool:
        """Breached and not met yet: what turns a ticket's light red (`tickets.lights` in SQL)."""
        return self.status == DeadlineStatus.BREACHED and self.met_at is None


class DeliveryState(StrEnum):
    """Whether a notification has gone out."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last retry; kept, never deleted


class Notification(SQLModel, table=True):
    """One message to one recipient, written in the transaction that caused it (an outbox)."""

    __table_args__ = (Index("ix_notification_due", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    recipient: str = Field(max_length=96)  # "unit:<code>" or "role:<role>"
    kind: str = Field(max_length=32)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    text: str = Field(sa_type=Text)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: DeliveryState = Field(
        default=DeliveryState.PENDING, sa_type=EnumString(DeliveryState, 16)
    )
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_error: str | None = Field(default=None, max_length=1000)
