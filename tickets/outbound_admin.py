"""Reports the platform has not taken: listed for an administrator, retried now or skipped.

A report that keeps failing holds back its ticket's later reports (they go in order); skipping
it lets them go on, and the skip is kept on the row with who did it and why.
"""

import logging
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from core.errors import Conflict, NotFound
from models import OutboundEvent, OutboundState, User

log = logging.getLogger("qisu.outbound")


def stuck(
    session: Session,
    *,
    source: str | None,
    min_attempts: int,
    limit: int,
    offset: int,
) -> tuple[int, list[tuple[OutboundEvent, int]]]:
    """Undelivered reports tried at least `min_attempts` times, oldest first, each with how
    many of its ticket's later reports wait behind it."""
    where = [
        col(OutboundEvent.state) == OutboundState.PENDING,
        col(OutboundEvent.attempts) >= min_attempts,
    ]
    if source:
        where.append(col(OutboundEvent.source) == source)
    count = session.exec(select(func.count()).select_from(OutboundEvent).where(*where)).one()
    later = aliased(OutboundEvent)
    behind = (
        select(func.count())
        .select_from(later)
        .where(
            col(later.ticket_id) == col(OutboundEvent.ticket_id),
            col(later.id) > col(OutboundEvent.id),
            col(later.state) == OutboundState.PENDING,
        )
        .scalar_subquery()
    )
    rows = session.exec(
        select(OutboundEvent, behind)
        .where(*where)
        .order_by(col(OutboundEvent.id))
        .limit(limit)
        .offset(offset)
    ).all()
    return int(count), [(event, int(waiting)) for event, waiting in rows]


def _pending(session: Session, event_id: int) -> OutboundEvent:
    event = session.get(OutboundEvent, event_id, with_for_update=True)
    if event is None:
        raise NotFound(f"没有编号为 {event_id} 的上报")
    if event.state != OutboundState.PENDING:
        state = "已送达" if event.state == OutboundState.DELIVERED else "已跳过"
        raise Conflict(f"上报 {event_id} {state}，无需处理", code="not_pending")
    return event


def retry(session: Session, *, event_id: int, now: datetime) -> OutboundEvent:
    """Make a pending report due now instead of after its backoff."""
    event = _pending(session, event_id)
    event.next_attempt_at = now
    session.add(event)
    session.flush()
    return event


def skip(session: Session, *, event_id: int, user: User, reason: str) -> OutboundEvent:
    """Give a report up, so its ticket's later reports go on; who and why stay on the row."""
    event = _pending(session, event_id)
    event.state = OutboundState.SKIPPED
    event.last_error = f"由{user.name}跳过：{reason}（此前错误：{event.last_error or '无'}）"[:1000]
    session.add(event)
    session.flush()
    log.warning(
        "report %s (%s of ticket %s) skipped by %s: %s",
        event.id, event.action, event.ticket_id, user.name, reason,
    )  # fmt: skip
    return event
