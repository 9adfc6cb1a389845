"""The security audit log: append-only, each row chained to the one before by its hash."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.base import AwareDateTime, utcnow


class AuditAction(StrEnum):
    """What a security audit record is about."""

    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    REFUSED = "permission_refused"
    USER_CREATE = "user_create"
    USER_DEACTIVATE = "user_deactivate"
    USER_REACTIVATE = "user_reactivate"
    USER_PASSWORD = "user_password"
    USER_ROLE = "user_role"
    TOKEN_ISSUE = "token_issue"
    TOKEN_REVOKE = "token_revoke"
    TOTP_ENROL = "totp_enrol"
    TOTP_RESET = "totp_reset"
    CONTACT_VIEW = "contact_view"
    CONTACT_REVEAL = "contact_reveal"
    EXPORT = "export"
    DATA_PURGE = "data_purge"


class AuditOutcome(StrEnum):
    """How the audited attempt ended."""

    SUCCESS = "success"
    FAILURE = "failure"
    REFUSED = "refused"


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
    action: str = Field(max_length=40, index=True)  # an AuditAction
    outcome: str = Field(max_length=16)  # an AuditOutcome
    address: str | None = Field(default=None, max_length=64)
    target: str | None = Field(default=None, max_length=100)  # e.g. "user:5", "ticket:12"
    detail: str | None = Field(default=None, max_length=500)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
