"""Request and response shapes of the routing API."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from core.validation import LongText, OneLine, ReceivedAt

Text = LongText


class PreviewIn(BaseModel):
    """An appeal as the operator has it while still on the phone."""

    text: Text
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), OneLine] = ""
    credit_code: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=18), OneLine] | None
    ) = None
    phone: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=32), OneLine] | None
    ) = None
    received_at: ReceivedAt | None = Field(default=None, description="Now when left out.")


class CandidateOut(BaseModel):
    """A unit routing considered."""

    unit: str
    probability: float


class DecisionOut(BaseModel):
    """What routing would decide."""

    lead_unit: str | None
    assist_units: list[str]
    subdistrict: str | None
    confidence: float | None
    rule: str
    candidates: list[CandidateOut]
    screened_by: list[str]
    reasons: list[str]
    model_version: str | None
    locality_source: str


class RepeatOut(BaseModel):
    """An earlier ticket this appeal repeats."""

    ticket_id: int
    root_id: int
    similarity: float
    received_at: datetime
    lead_unit: str | None
    text: str = Field(description="The earlier ticket's text, its first 200 characters.")
    status: str = Field(description="Where the earlier ticket stands in the loop.")


class PreviewOut(BaseModel):
    """The decision, the likely repeats and similar answered cases; nothing is stored."""

    routing: DecisionOut
    repeats: list[RepeatOut]
    similar: list["SimilarOut"] = Field(
        description="The five most similar earlier answered tickets, with lead unit and reply."
    )


class AccuracyOut(BaseModel):
    """One model version's online accuracy."""

    model_version: str | None
    decisions: int
    dispatched: int
    judged: int
    correct: int
    accuracy: float | None = Field(description="Right among judged decisions.")
    dispatched_judged: int
    dispatched_correct: int
    dispatched_accuracy: float | None = Field(description="Right among routing's own dispatches.")


class AccuracyReport(BaseModel):
    """Online accuracy per model version over a span."""

    since: datetime
    until: datetime
    versions: list[AccuracyOut]


class ClusterOut(BaseModel):
    """一类事: many enterprises, one matter, one lead unit."""

    size: int
    lead_unit: str
    tickets: list[int]
    enterprises: list[str]
    enterprise_names: list[str]
    subdistricts: list[str]
    representative: int
    text: str
    first_received_at: datetime
    last_received_at: datetime


class SimilarOut(BaseModel):
    """An earlier answered ticket like this one."""

    ticket_id: int
    similarity: float
    received_at: datetime
    lead_unit: str | None
    title: str | None
    text: str
    reply: str | None


PreviewOut.model_rebuild()  # it names SimilarOut, defined after it
