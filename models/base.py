"""Column helpers shared by the tables."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class Stored(Protocol):
    """A table row, whose id the database gives at the first flush."""

    id: int | None


def id_of(row: Stored) -> int:
    """A flushed row's id. A row without one was not flushed: a bug to raise, not an id of 0."""
    if row.id is None:
        raise AssertionError(f"{type(row).__name__} has no id: flush it before using its id")
    return row.id


# Set only while history is replayed (the demo takes two months of appeals in this way).
_replayed_now: ContextVar[datetime | None] = ContextVar("replayed_now", default=None)


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC: the replayed one inside `replaying_at`."""
    return _replayed_now.get() or datetime.now(UTC)


@contextmanager
def replaying_at(at: datetime) -> Iterator[None]:
    """Run the block as if it were `at`: every clock of the loop reads this instant."""
    if at.tzinfo is None:
        raise ValueError("a replayed instant needs an offset")
    token = _replayed_now.set(at.astimezone(UTC))
    try:
        yield
    finally:
        _replayed_now.reset(token)


class AwareDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime; stored in UTC (SQLite keeps no offset, so we add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give an offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EnumString(TypeDecorator[StrEnum]):
    """A StrEnum kept as its plain value in a VARCHAR and read back as the enum."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 24) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: StrEnum | str | None, dialect: Dialect) -> Any:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)
