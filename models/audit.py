"""The security audit log: append-only, each row chained to the one before by its hash."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import AwareDateTime, utcnow


class AuditRecord(SQLModel, table=True):
    """One security event: who did what to what, from where, and how it ended."""

    __tablename__ = "audit_record"

    id: int | None = Field(default=None, primary_key=True)
    # 1, 2, 3 … without gaps: a deleted row leaves one, which `qisu audit verify` reports.
    seq: int = Field(unique=True)
    at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)
    actor_id: int | None = Field(default=None, index=True)
    actor: str = Field(max_length=100)  # the user's name then, or "cli:<os user>"
    role: str | None = Field(default=None, max_length=16)
    action: str = Field(max_length=40, index=True)
    outcome: str = Field(max_length=16)  # success, failure or refused
    address: str | None = Field(default=None, max_length=64)
    target: str | None = Field(default=None, max_length=100)  # e.g. "user:5", "ticket:12"
    detail: str | None = Field(default=None, max_length=500)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
