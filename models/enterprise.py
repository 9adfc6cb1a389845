"""Enterprises, keyed by their unified social credit code."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import AwareDateTime, utcnow


class Enterprise(SQLModel, table=True):
    """An enterprise that has raised an appeal."""

    credit_code: str = Field(primary_key=True, min_length=18, max_length=18)
    name: str = Field(max_length=200)
    address: str | None = Field(default=None, max_length=500)
    subdistrict: str | None = Field(default=None, foreign_key="unit.code")
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
