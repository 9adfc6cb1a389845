"""People who use qisu, with their role and the unit they act for."""

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


class User(SQLModel, table=True):
    """A user; the bearer token is kept only as its SHA-256 hash."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    role: Role = Field(sa_type=EnumString(Role, 16))
    unit_code: str | None = Field(default=None, foreign_key="unit.code")
    token_hash: str = Field(max_length=64, unique=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
