"""Reverse evaluations (反向评价, item 51): 街镇 score line departments, period by period."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import AwareDateTime, EnumString, utcnow


class PeriodStatus(StrEnum):
    """Whether evaluations of a period may still be written."""

    OPEN = "open"
    CLOSED = "closed"


class EvaluationPeriod(SQLModel, table=True):
    """A span in which 街镇 evaluate departments: a month unless configured otherwise."""

    __tablename__ = "evaluation_period"

    period: str = Field(primary_key=True, max_length=16)
    starts: date
    ends: date  # inclusive
    status: PeriodStatus = Field(sa_type=EnumString(PeriodStatus, 16))
    opened_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class Evaluation(SQLModel, table=True):
    """One 街镇's scores for one line department in one period; frozen once the period closes."""

    __table_args__ = (UniqueConstraint("period", "subdistrict", "unit", name="uq_evaluation"),)

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(foreign_key="evaluation_period.period", index=True, max_length=16)
    subdistrict: str = Field(foreign_key="unit.code", max_length=64)
    unit: str = Field(foreign_key="unit.code", index=True, max_length=64)
    timeliness: int = Field(description="响应及时, 1 to 5")
    effectiveness: int = Field(description="解决实效, 1 to 5")
    cooperation: int = Field(description="协同配合, 1 to 5")
    comment: str | None = Field(default=None, max_length=2000)
    whistle_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    ticket_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    author_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
