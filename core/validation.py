"""Input types every schema and route shares: ids, texts and instants checked at the edge."""

import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from core.timezone import SHANGHAI

# Ids and versions are INTEGER columns (32 bits on PostgreSQL): anything above cannot name a
# row, and PostgreSQL refuses to compare with it (a 500 schemathesis found). Offsets are
# BIGINT in SQL.
MAX_ID = 2**31 - 1
MAX_OFFSET = 2**63 - 1
# Instants a query or a record may name: the system's era, far from the calendar's edges.
EARLIEST = datetime(2000, 1, 1, tzinfo=SHANGHAI)
LATEST = datetime(2100, 1, 1, tzinfo=SHANGHAI)

# Characters that carry no visible content: zero-width spaces and joiners, the BOM, word joiner.
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"}
_LINE_BREAKS = {"\n", "\r", "\u2028", "\u2029", "\x85"}


def _check_text(value: str, *, multiline: bool) -> str:
    for char in value:
        if char in ("\n", "\t") and multiline:
            continue
        if char == "\r" and multiline:
            continue
        if char in _LINE_BREAKS:
            raise ValueError("不能包含换行")
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise ValueError("不能包含控制字符")
    if value and all(c in _INVISIBLE or c.isspace() for c in value):
        raise ValueError("不能只含空白或不可见字符")
    return value


def single_line(value: str) -> str:
    """A text on one line: no control characters, no line breaks, not only invisible ones."""
    return _check_text(value, multiline=False)


def multi_line(value: str) -> str:
    """A text that may span lines: no control characters but newline and tab, not blank."""
    return _check_text(value, multiline=True)


# The shared checks: put one of these in every input string's Annotated.
OneLine = AfterValidator(single_line)
Lines = AfterValidator(multi_line)


def _strip(low: int, high: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=low, max_length=high)


# Strings most schemas use.
Code = Annotated[str, _strip(1, 64), OneLine]  # a unit code, a source name
PeriodName = Annotated[str, _strip(1, 16), OneLine]  # an evaluation period, e.g. 2026-11
Line = Annotated[str, _strip(1, 200), OneLine]  # a title, a name
LongText = Annotated[str, _strip(1, 10_000), Lines]  # an appeal, a note, a reply


def _in_era(value: datetime) -> datetime:
    """Read a time without an offset as Shanghai's, and keep it within the system's era."""
    value = value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    if not EARLIEST <= value < LATEST:
        raise ValueError("须在 2000-01-01 与 2100-01-01 之间")
    return value


def _received(value: datetime) -> datetime:
    if value < EARLIEST:
        raise ValueError("不能早于 2000-01-01")
    if value > datetime.now(UTC) + timedelta(days=1):
        raise ValueError("不能晚于当前时间一天以上")
    return value


def _date_in_era(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError("须在 2000-01-01 与 2100-01-01 之间")
    return value


# A row id in a path, a query or a body.
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
# How many rows a page skips.
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
# A listing's page in a query: how many rows, and how many to skip.
PageSize = Annotated[int, Query(ge=1, le=200, description="Page size.")]
PageOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many rows to skip.")]
# A time a person types into a query: a bare date or time is Shanghai's.
Instant = Annotated[datetime, AfterValidator(_in_era)]
# When an appeal reached its source: with an offset, from 2000 until a day from now.
ReceivedAt = Annotated[AwareDatetime, AfterValidator(_received)]
# A day of a period.
EraDate = Annotated[date, AfterValidator(_date_in_era)]
