"""Fixed-window request counters in the database, shared by every API worker and kept across
restarts (a limit held in one process's memory would let each worker allow its own share).
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.db import session_scope
from core.errors import DomainError
from models import RateCounter

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class RateLimited(DomainError):
    """Too many requests from one address or for one enterprise or receipt."""

    status_code = 429
    code = "rate_limited"


def _window_start(now: datetime, window: timedelta) -> datetime:
    return EPOCH + ((now - EPOCH) // window) * window


def _count(session: Session, key: str, start: datetime) -> int:
    row = session.get(RateCounter, key, with_for_update=True)
    if row is None:
        with session.begin_nested():
            row = RateCounter(key=key, window_start=start, count=1)
            session.add(row)
            session.flush()
        return 1
    if row.window_start != start:
        row.window_start, row.count = start, 1
    else:
        row.count += 1
    session.add(row)
    session.flush()
    return row.count


def hit(engine: Engine, *, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Count one request under `key`; False when it is over the limit for this window.

    Committed on its own, before the request's work: a refused or failed request still counts.
    """
    start = _window_start(now, window)
    for _ in range(2):  # a rival's first insert of the same key wins; count again on its row
        try:
            with session_scope(engine, write=True) as session:
                return _count(session, key[:160], start) <= limit
        except IntegrityError:
            continue
    return False


def check(
    engine: Engine, *, key: str, limit: int, window: timedelta, now: datetime, message: str
) -> None:
    """Refuse with 429 and `message` when `key` is over its limit."""
    if not hit(engine, key=key, limit=limit, window=window, now=now):
        raise RateLimited(message)
