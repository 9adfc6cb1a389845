"""Routing decisions (item 52) and the stored sentence embedding of each ticket."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from models.base import AwareDateTime, utcnow


class RoutingDecision(SQLModel, table=True):
    """What routing proposed for a ticket, from what, by which rule; later judged by operators."""

    __tablename__ = "routing_decision"
    # Cover the dashboard's share sent to triage per model version over a span.
    __table_args__ = (
        Index(
            "ix_routing_decision_created_cover",
            "created_at",
            "trigger",
            "model_version",
            "dispatched",
            "correct",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)
    trigger: str = Field(max_length=16)  # "intake" or "return"
    model_version: str | None = Field(default=None, max_length=128)
    rule: str = Field(max_length=32)
    dispatched: bool = False  # routing dispatched it itself (else it waits in triage)
    lead_unit: str | None = Field(default=None, max_length=64)
    assist_units: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    subdistrict: str | None = Field(default=None, max_length=64)
    locality_source: str = Field(max_length=32)
    locality_matched: str | None = Field(default=None, max_length=100)
    confidence: float | None = None
    candidates: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    screened_by: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The earlier tickets it repeats, closest first: [{ticket_id, root_id, similarity}].
    repeats: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # Every earlier candidate the pair scorer weighed, best first: [{ticket_id, score}], and
    # how repeats were decided ("pair scorer", or the fallback and why).
    repeat_scores: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    repeat_method: str | None = Field(default=None, max_length=200)
    # An operator's dispatch judges the decision: right, or wrong with the unit that was right.
    correct: bool | None = None
    corrected_unit: str | None = Field(default=None, max_length=64)
    judged_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class RepeatLink(SQLModel, table=True):
    """An operator linked a ticket to an earlier one as a repeat, or unlinked it: a decision."""

    __tablename__ = "repeat_link"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    earlier_id: int = Field(foreign_key="ticket.id")  # linked to, or the link removed
    linked: bool  # True: confirmed a repeat; False: not a repeat of earlier_id
    root_id: int | None = Field(default=None, foreign_key="ticket.id")  # the chain's root after
    score: float | None = None  # the pair scorer's score for the pair at intake, if it had one
    system_root: int | None = Field(default=None, foreign_key="ticket.id")  # what routing linked
    user_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)


class TicketEmbedding(SQLModel, table=True):
    """A ticket's unit-length sentence embedding (float16), so history is never re-encoded."""

    __tablename__ = "ticket_embedding"

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    model_version: str = Field(max_length=128)
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
