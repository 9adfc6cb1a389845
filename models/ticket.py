"""Tickets, their assignments to units, and the append-only audit trail."""

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, Column, Index, Integer, Text, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from core.phones import phone_key
from models.base import AwareDateTime, EnumString, utcnow


class Channel(StrEnum):
    """How the appeal reached 12345."""

    HOTLINE = "hotline"
    APP = "app"
    WEB = "web"


class AppealType(StrEnum):
    """咨询 / 求助 / 投诉 / 举报 / 建议."""

    CONSULTATION = "consultation"
    HELP = "help"
    COMPLAINT = "complaint"
    REPORT = "report"
    SUGGESTION = "suggestion"


class Urgency(StrEnum):
    """Whether the appeal runs on the urgent clock."""

    NORMAL = "normal"
    URGENT = "urgent"


class TicketStatus(StrEnum):
    """Where a ticket stands in the closed loop."""

    TRIAGE = "triage"  # 受理, waiting to be dispatched
    DISPATCHED = "dispatched"  # 分拨
    ACKNOWLEDGED = "acknowledged"  # 签收
    CONTACTED = "contacted"  # 先行联系 done, 办理 under way
    REPLIED = "replied"  # 答复
    VERIFIED = "verified"  # 回访: the enterprise is satisfied, waiting for 结案
    REOPENED = "reopened"  # 重办 after an unsatisfied callback
    CLOSED = "closed"  # 结案


class TicketAction(StrEnum):
    """What a ticket event records (the stored value is the member's). The lifecycle's actions
    are tickets.lifecycle.TRANSITIONS' keys; the sweep's events are `DeadlineEvent`s."""

    DISPATCH = "dispatch"  # 分拨, by the desk or by routing
    ACKNOWLEDGE = "acknowledge"  # 签收
    CONTACT = "contact"  # 先行联系
    REPLY = "reply"  # 答复
    RETURN = "return"  # 退单
    REQUEST_EXTENSION = "request-extension"
    APPROVE_EXTENSION = "approve-extension"
    REJECT_EXTENSION = "reject-extension"
    PAUSE = "pause"  # awaiting the enterprise
    RESUME = "resume"
    LOCALITY = "locality"  # the ticket's 街镇 became known
    CALLBACK = "callback"  # 回访
    CLOSE = "close"  # 结案
    # Outside the state machine:
    RECEIVED = "received"  # 受理
    MERGED = "merged"  # the same appeal again, merged into this ticket
    TO_SUPERVISOR = "to-supervisor"  # routing called a supervisor in
    REPEAT_OF = "repeat-of"  # an operator linked or unlinked a repeat
    AMEND = "amend"  # the city platform changed its order
    WITHDRAW = "withdraw"  # ... or withdrew it


class Satisfaction(StrEnum):
    """The enterprise's verdict at the callback (回访)."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


class AssignmentRole(StrEnum):
    """Whether the unit leads or assists."""

    LEAD = "lead"
    ASSIST = "assist"


class AssignmentState(StrEnum):
    """Whether an assignment is still live."""

    ACTIVE = "active"
    RETURNED = "returned"  # 退单 by the unit
    DONE = "done"
    CANCELLED = "cancelled"


_version = Column("version", Integer, nullable=False, default=1)


class Ticket(SQLModel, table=True):
    """One enterprise appeal and where it stands in the loop."""

    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_ticket_source_external"),
        # Cover the dashboard's charts of a span (tickets.dashboard).
        Index(
            "ix_ticket_received_cover",
            "received_at",
            "status",
            "channel",
            "lead_unit",
            "subdistrict",
            "repeat_of",
        ),
    )
    # Optimistic locking: every UPDATE carries "WHERE version = <read version>".
    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": _version}

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    external_id: str = Field(max_length=128)
    channel: Channel = Field(sa_type=EnumString(Channel, 16))
    received_at: datetime = Field(sa_type=AwareDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    enterprise_code: str = Field(foreign_key="enterprise.credit_code", index=True)
    contact_name: str = Field(max_length=100)
    contact_phone: str = Field(max_length=32, index=True)
    # The phone as digits (core.phones), kept by _key_phone: the repeat check finds an earlier
    # ticket of the same caller whether it was written +86 139…, 139-… or 139….
    contact_phone_key: str = Field(default="", max_length=32, index=True)
    title: str | None = Field(default=None, max_length=200)
    text: str = Field(sa_type=Text)
    address: str = Field(max_length=500, index=True)
    subdistrict: str | None = Field(default=None, foreign_key="unit.code", index=True)
    appeal_type: AppealType = Field(sa_type=EnumString(AppealType, 16))
    urgency: Urgency = Field(sa_type=EnumString(Urgency, 16))
    status: TicketStatus = Field(sa_type=EnumString(TicketStatus, 16), index=True)
    lead_unit: str | None = Field(default=None, foreign_key="unit.code", index=True)
    repeat_of: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    repeat_count: int = 0
    escalation_level: int = 0
    reopen_count: int = 0
    return_count: int = 0
    extension_requested_days: int | None = None
    extension_reason: str | None = Field(default=None, max_length=1000)
    extension_days: int = 0
    reply: str | None = Field(default=None, sa_type=Text)
    satisfaction: Satisfaction | None = Field(default=None, sa_type=EnumString(Satisfaction, 24))
    closed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # When `qisu data purge` replaced the contact's name and phone (retention, PIPL art. 19).
    anonymised_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    version: int = Field(default=1, sa_column=_version)


@event.listens_for(Ticket, "before_insert")
@event.listens_for(Ticket, "before_update")
def _key_phone(_mapper: Any, _connection: Any, target: Ticket) -> None:
    """Keep the phone's key with the phone, whichever path wrote it (bulk statements set it
    themselves)."""
    target.contact_phone_key = phone_key(target.contact_phone)


class Assignment(SQLModel, table=True):
    """A unit's part in a ticket: leading or assisting."""

    # Cover the lead assignments of a span (tickets.kpis: rankings, the dashboard's rates).
    __table_args__ = (
        Index(
            "ix_assignment_created_cover", "created_at", "role", "unit_code", "state", "ticket_id"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    unit_code: str = Field(foreign_key="unit.code", index=True)
    role: AssignmentRole = Field(sa_type=EnumString(AssignmentRole, 16))
    state: AssignmentState = Field(
        default=AssignmentState.ACTIVE, sa_type=EnumString(AssignmentState, 16)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    contacted_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    replied_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    returned_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    return_reason: str | None = Field(default=None, max_length=1000)


class TicketEvent(SQLModel, table=True):
    """One change to a ticket: who did what, and the state before and after. Never updated."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    actor_name: str = Field(max_length=100)
    action: str = Field(max_length=32)
    before: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    after: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, sa_type=Text)
