"""Request and response shapes of user administration."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from accounts.tokens import DEFAULT_DAYS, MAX_DAYS
from core.validation import Code, Line
from models import Role

Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Login = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class UserAdmin(BaseModel):
    """A user as an administrator sees it (never its password or tokens)."""

    id: int
    name: str
    login: str | None
    role: Role
    unit_code: str | None
    unit_name: str | None
    active: bool
    created_at: datetime
    last_sign_in_at: datetime | None


class UserPage(BaseModel):
    """One page of users."""

    count: int
    limit: int
    offset: int
    items: list[UserAdmin]


class UserCreate(BaseModel):
    """A new console user."""

    name: Line
    login: Login
    role: Role
    unit_code: Code | None = None
    password: Password


class PasswordSet(BaseModel):
    """A new console password."""

    password: Password


class RoleSet(BaseModel):
    """A new role, and the unit it acts for where the role has one."""

    role: Role
    unit_code: Code | None = None


class TokenCreate(BaseModel):
    """A new bearer token: what it is for, and for how many days."""

    name: Line
    days: int = Field(default=DEFAULT_DAYS, ge=1, le=MAX_DAYS)


class TokenOut(BaseModel):
    """A bearer token, without its value."""

    id: int
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    active: bool


class TokenIssued(TokenOut):
    """A new bearer token; `token` is shown this once and never again."""

    token: str
