"""街镇吹哨、部门报到 (item 51): a 街镇 calls line departments in, and each must report in."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import AwareDateTime, EnumString, utcnow


class WhistleStatus(StrEnum):
    """Open until the 街镇 has confirmed every department's outcome."""

    OPEN = "open"
    CONFIRMED = "confirmed"


class CallState(StrEnum):
    """One called department's progress."""

    CALLED = "called"  # 吹哨: waiting for the department to report in
    REPORTED = "reported"  # 报到: a named contact and a plan
    DONE = "done"  # the department reported its outcome
    CONFIRMED = "confirmed"  # the 街镇 accepted the outcome


class WhistleAction(StrEnum):
    """What a whistle event records (besides the sweep's `DeadlineEvent`s)."""

    WHISTLE = "whistle"  # 吹哨: the 街镇 calls departments in
    REPORT = "report"  # 报到
    OUTCOME = "outcome"  # a department's outcome
    CONFIRM = "confirm"  # the 街镇 accepts it
    REOPEN = "reopen"  # ... or sends it back


class Whistle(SQLModel, table=True):
    """A 街镇's call for help about tickets or a matter it describes."""

    id: int | None = Field(default=None, primary_key=True)
    subdistrict: str = Field(foreign_key="unit.code", index=True, max_length=64)
    text: str = Field(sa_type=Text)
    ticket_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: WhistleStatus = Field(
        default=WhistleStatus.OPEN, sa_type=EnumString(WhistleStatus, 16), index=True
    )
    escalation_level: int = 0
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class WhistleCall(SQLModel, table=True):
    """One department called by a whistle, and what it did."""

    __tablename__ = "whistle_call"
    __table_args__ = (UniqueConstraint("whistle_id", "unit_code", name="uq_whistle_call"),)

    id: int | None = Field(default=None, primary_key=True)
    whistle_id: int = Field(foreign_key="whistle.id", index=True)
    unit_code: str = Field(foreign_key="unit.code", index=True, max_length=64)
    state: CallState = Field(default=CallState.CALLED, sa_type=EnumString(CallState, 16))
    contact: str | None = Field(default=None, max_length=200)
    plan: str | None = Field(default=None, sa_type=Text)
    reported_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    outcome: str | None = Field(default=None, sa_type=Text)
    outcome_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    sent_back: int = 0
    last_reason: str | None = Field(default=None, max_length=2000)


class WhistleEvent(SQLModel, table=True):
    """One thing that happened to a whistle. Never updated."""

    __tablename__ = "whistle_event"

    id: int | None = Field(default=None, primary_key=True)
    whistle_id: int = Field(foreign_key="whistle.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    actor_name: str = Field(max_length=100)
    action: str = Field(max_length=32)
    unit_code: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, sa_type=Text)
