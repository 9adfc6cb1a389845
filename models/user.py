"""People who use qisu, with their role and the unit they act for; their sign-in sessions."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.base import AwareDateTime, EnumString, utcnow


class Role(StrEnum):
    """What a user may do."""

    OPERATOR = "operator"
    UNIT_HANDLER = "unit_handler"
    SUBDISTRICT = "subdistrict"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    # Reads the security audit log and nothing else: 等保's separation of duties.
    AUDITOR = "auditor"


class User(SQLModel, table=True):
    """A user; the password is kept as argon2id, bearer tokens in `api_token`."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    role: Role = Field(sa_type=EnumString(Role, 16))
    unit_code: str | None = Field(default=None, foreign_key="unit.code")
    # Before 0010 the user's one token; its hash moved to `api_token`. SQLite cannot drop a
    # unique column of a table others reference without rebuilding it, so it stays, holding
    # the hash of a random value nobody was ever given.
    token_hash: str = Field(max_length=64, unique=True)
    # People sign in with a login and a password; machine users have neither.
    login: str | None = Field(default=None, max_length=64, unique=True)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    last_sign_in_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # The RFC 6238 second factor: the base32 secret, set once confirmed (pending until then),
    # and the last time step used, so that one code cannot sign in twice.
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_pending: str | None = Field(default=None, max_length=64)
    totp_last_step: int | None = None


class ApiToken(SQLModel, table=True):
    """A bearer token of a user: named, expiring, revocable; kept only as its SHA-256 hash."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    expires_at: datetime = Field(sa_type=AwareDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class UserSession(SQLModel, table=True):
    """A console sign-in; the cookie's random value is kept only as its SHA-256 hash."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    # Before 0010 the user's one token; its hash moved to `api_token`. SQLite cannot drop a
    # unique column of a table others reference without rebuilding it, so it stays, holding
    # the hash of a random value nobody was ever given.
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    # The idle limit (or the absolute one, whichever is first) measured from last_seen_at.
    expires_at: datetime = Field(sa_type=AwareDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    user_agent: str | None = Field(default=None, max_length=300)
    address: str | None = Field(default=None, max_length=64)


class LoginFailure(SQLModel, table=True):
    """Consecutive wrong passwords for one login, known or not, and the lock they caused."""

    __tablename__ = "login_failure"

    login: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    last_failed_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=AwareDateTime)
