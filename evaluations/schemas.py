"""Request and response shapes of the evaluation API."""

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from core.validation import Code, DbId, EraDate, Lines, LongText, OneLine
from models import PeriodStatus

Score = Annotated[int, Field(ge=1, le=5)]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), Lines]
Ids = Annotated[list[DbId], Field(max_length=200)]


class PeriodIn(BaseModel):
    """A period to open: a month like 2026-11, or any name with its first and last day."""

    period: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16), OneLine
    ]
    starts: EraDate | None = None
    ends: EraDate | None = None


class PeriodPublic(BaseModel):
    """An evaluation period."""

    period: str
    starts: date
    ends: date
    status: PeriodStatus
    opened_at: datetime
    closed_at: datetime | None


class EvaluationIn(BaseModel):
    """A 街镇's scores for a line department (响应及时, 解决实效, 协同配合), 1 to 5."""

    period: Code
    unit: Code
    timeliness: Score
    effectiveness: Score
    cooperation: Score
    comment: Comment | None = None
    whistle_ids: Ids = []
    ticket_ids: Ids = []


class EvaluationPatch(BaseModel):
    """The fields to change; the others stay."""

    timeliness: Score | None = None
    effectiveness: Score | None = None
    cooperation: Score | None = None
    comment: Comment | None = None
    whistle_ids: Ids | None = None
    ticket_ids: Ids | None = None


class EvaluationPublic(BaseModel):
    """An evaluation; for the department it is about, only the period, unit and comment.

    Whatever could name its author (the 街镇, the linked tickets and whistles, the scores,
    the id and the times) is null or empty for the department.
    """

    id: int | None
    period: str
    subdistrict: str | None
    unit: str
    timeliness: int | None
    effectiveness: int | None
    cooperation: int | None
    comment: str | None
    whistle_ids: list[int]
    ticket_ids: list[int]
    created_at: datetime | None
    updated_at: datetime | None


class EvaluationSummary(BaseModel):
    """A department's evaluation averages in a period; null below three evaluations."""

    period: str
    unit: str
    evaluations: int
    enough: bool = Field(description="At least three evaluations: the averages are shown.")
    note: str | None = Field(description="评价数不足 when there are too few to show.")
    timeliness: float | None
    effectiveness: float | None
    cooperation: float | None


class TodoItem(BaseModel):
    """A department the 街镇 worked with in the period."""

    unit: str
    ticket_ids: list[int]
    whistle_ids: list[int]
    evaluation_id: int | None


Text = LongText
UnitCode = Code


class WhistleIn(BaseModel):
    """吹哨: the line departments called, and the help needed (the 街镇 is the caller's)."""

    units: Annotated[list[UnitCode], Field(min_length=1, max_length=20)]
    text: Text
    ticket_ids: Ids = []


class ReportIn(BaseModel):
    """报到: who handles it and how; `unit` only when a supervisor acts for a department."""

    unit: UnitCode | None = None
    contact: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), OneLine
    ]
    plan: Text


class OutcomeIn(BaseModel):
    """What the department did."""

    unit: UnitCode | None = None
    content: Text


class ConfirmIn(BaseModel):
    """Accept one department's outcome, or (without `unit`) every reported one."""

    unit: UnitCode | None = None


class ReopenIn(BaseModel):
    """Send an outcome back, saying why."""

    unit: UnitCode | None = None
    reason: Text


class ClockPublic(BaseModel):
    """A called department's current deadline."""

    stage: str
    status: str
    due_at: datetime | None


class CallPublic(BaseModel):
    """One called department."""

    unit: str
    state: str
    contact: str | None
    plan: str | None
    reported_at: datetime | None
    outcome: str | None
    outcome_at: datetime | None
    confirmed_at: datetime | None
    sent_back: int
    deadline: ClockPublic | None


class WhistlePublic(BaseModel):
    """A whistle and the departments it called."""

    id: int
    subdistrict: str
    text: str
    ticket_ids: list[int]
    status: str
    escalation_level: int
    created_at: datetime
    calls: list[CallPublic]
