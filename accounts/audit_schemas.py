"""Response shapes of the security audit log."""

from datetime import datetime

from pydantic import BaseModel


class AuditRecordOut(BaseModel):
    """One security event."""

    seq: int
    at: datetime
    actor_id: int | None
    actor: str
    role: str | None
    action: str
    outcome: str
    address: str | None
    target: str | None
    detail: str | None
    hash: str


class AuditPage(BaseModel):
    """One page of audit records, newest first."""

    count: int
    limit: int
    offset: int
    items: list[AuditRecordOut]


class AuditVerification(BaseModel):
    """Whether the chain is whole: rows checked, its head, and every break found."""

    ok: bool
    count: int
    head: str
    problems: list[str]
