"""The daily roll-up: each complete Shanghai day's measures, stored, so a month is ~30 rows.

A chart asks `counts(measure, start, end)`: the rolled days of the span that nothing changed
since are read from the roll-up; the rest (the span's partial first and last days, today,
days not rolled yet, days a late event touched) runs the measure live. The answer is the live
one exactly, whatever the roll-up's age.

A late event (a ticket reopened, closed, rated or breached after its day was rolled) is found
through the ticket events: every change to what a measure reads writes one (tickets.audit, the
sweep through tickets.jobs), and the days a changed ticket counts on (received, its deadlines
started, its assignments made) are read live until `refresh` rolls them again. Events are looked
for from `LAG` before the roll-up's time: a change committed after the roll-up read its rows was
begun (and its event stamped) less than LAG before.
"""

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine, delete, func, insert, text, union
from sqlmodel import Session, col, select

from core.db import session_scope
from core.timezone import SHANGHAI
from models import (
    Assignment,
    Deadline,
    RollupCount,
    RollupDay,
    RollupState,
    Ticket,
    TicketEvent,
    utcnow,
)
from tickets.measures import MEASURES, Count, local_day

log = logging.getLogger("qisu.rollup")

LAG = timedelta(minutes=5)  # longer than any write transaction of the app
HORIZON_DAYS = 400  # the scheduler keeps this many days rolled: a year and its comparison
NEW_DAYS_PER_RUN = 7  # a scheduler run rolls at most this many new days (short transactions)
_LOCK = 15_0001  # PostgreSQL advisory lock: one roll-up writer at a time


def day_span(day: date) -> tuple[datetime, datetime]:
    """The instants of one Shanghai day, [midnight, next midnight)."""
    start = datetime.combine(day, time(), SHANGHAI)
    return start, datetime.combine(day + timedelta(days=1), time(), SHANGHAI)


def whole_days(start: datetime, end: datetime) -> list[date]:
    """The Shanghai days lying wholly inside [start, end)."""
    first = start.astimezone(SHANGHAI).date()
    if day_span(first)[0] < start:
        first += timedelta(days=1)
    last = end.astimezone(SHANGHAI).date()  # the day `end` falls in is not whole
    return [first + timedelta(days=k) for k in range((last - first).days)]


def touched_days(session: Session, *, since: datetime) -> set[str]:
    """The days every ticket with an event since then counts on, in any measure."""
    changed = select(TicketEvent.ticket_id).where(col(TicketEvent.at) >= since)
    query = union(
        select(local_day(session, col(Ticket.received_at))).where(col(Ticket.id).in_(changed)),
        select(local_day(session, col(Deadline.started_at))).where(
            col(Deadline.ticket_id).in_(changed)
        ),
        select(local_day(session, col(Assignment.created_at))).where(
            col(Assignment.ticket_id).in_(changed)
        ),
    )
    return {str(day) for (day,) in session.execute(query)}


def _live_spans(
    start: datetime, end: datetime, rolled: Sequence[date]
) -> list[tuple[datetime, datetime]]:
    """[start, end) without the rolled days, as few spans as possible."""
    spans: list[tuple[datetime, datetime]] = []
    cursor = start
    for day in sorted(rolled):
        begin, finish = day_span(day)
        if begin > cursor:
            spans.append((cursor, begin))
        cursor = max(cursor, finish)
    if cursor < end:
        spans.append((cursor, end))
    return spans


def clean_days(session: Session, start: datetime, end: datetime) -> list[date]:
    """The span's whole days the roll-up holds exactly as they are now."""
    state = session.get(RollupState, 1)  # read first: the rows read after are as new or newer
    days = whole_days(start, end)
    if state is None or not days:
        return []
    names = [d.isoformat() for d in days]
    rolled = set(session.exec(select(RollupDay.day).where(col(RollupDay.day).in_(names))).all())
    if not rolled:
        return []
    dirty = touched_days(session, since=state.clean_as_of - LAG)
    return [d for d, name in zip(days, names, strict=True) if name in rolled - dirty]


def counts(
    session: Session,
    measure: str,
    start: datetime,
    end: datetime,
    *,
    rolled: bool = True,
    **options: object,
) -> list[Count]:
    """The measure over [start, end): the roll-up's clean days and the rest live.

    `rolled=False` runs it all live (what the roll-up must equal). `options` narrow the live
    query; the rolled rows hold every option's counts, which the caller keeps or drops (the
    rates keep the stages they asked for).
    """
    run = MEASURES[measure]
    days = clean_days(session, start, end) if rolled else []
    if not days:
        return run(session, [(start, end)], **options)
    stored = session.exec(
        select(
            RollupCount.unit_code, RollupCount.key, RollupCount.ticket_id, func.sum(RollupCount.n)
        )
        .where(
            col(RollupCount.day).in_([d.isoformat() for d in days]),
            RollupCount.measure == measure,
        )
        .group_by(col(RollupCount.unit_code), col(RollupCount.key), col(RollupCount.ticket_id))
    ).all()
    out = [Count(unit, key, ticket, int(n)) for unit, key, ticket, n in stored]
    rest = _live_spans(start, end, days)
    if rest:
        out += run(session, rest, split=True, **options)
    return out


def roll_day(session: Session, day: date) -> int:
    """Compute and store one day's measures (replacing what was stored); returns the rows."""
    name = day.isoformat()
    session.execute(delete(RollupCount).where(col(RollupCount.day) == name))
    spans = [day_span(day)]
    rows = [
        {"day": name, "measure": measure, "unit_code": c.unit, "key": c.key,
         "ticket_id": c.ticket, "n": c.n}
        for measure, run in MEASURES.items()
        for c in run(session, spans, split=True)
        if c.n
    ]  # fmt: skip
    if rows:
        session.execute(insert(RollupCount), rows)
    found = session.get(RollupDay, name)
    row = found or RollupDay(day=name, rolled_at=utcnow())
    row.rolled_at = utcnow()
    session.add(row)
    session.flush()
    return len(rows)


def _lock(session: Session) -> datetime:
    """Take the roll-up's writer lock (SQLite's write transaction is one already); the time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    return utcnow()


def _first_day(session: Session) -> date | None:
    first = session.exec(select(func.min(col(Ticket.received_at)))).one()
    return first.astimezone(SHANGHAI).date() if first else None


def complete_days(since: date, now: datetime) -> list[date]:
    """The days from `since` to the last one that has ended by `now`."""
    today = now.astimezone(SHANGHAI).date()
    return [since + timedelta(days=k) for k in range((today - since).days)]


def _rolled(session: Session) -> set[str]:
    return set(session.exec(select(RollupDay.day)).all())


def refresh(
    engine: Engine, *, now: datetime | None = None, new_days: int = NEW_DAYS_PER_RUN
) -> tuple[int, int]:
    """One incremental run: roll again the days touched since the last, then some new ones.

    Returns (days rolled again, new days rolled). One transaction, so the roll-up's time says
    what it holds.
    """
    now = now or utcnow()
    with session_scope(engine, write=True) as session:
        started = _lock(session)
        state = session.get(RollupState, 1)
        rolled = _rolled(session)
        again = (
            sorted(touched_days(session, since=state.clean_as_of - LAG) & rolled) if state else []
        )
        for name in again:
            roll_day(session, date.fromisoformat(name))
        first = _first_day(session)
        horizon = now.astimezone(SHANGHAI).date() - timedelta(days=HORIZON_DAYS)
        missing = (
            [d for d in complete_days(max(first, horizon), now) if d.isoformat() not in rolled]
            if first
            else []
        )
        fresh = sorted(missing, reverse=True)[:new_days]  # the recent days matter most
        for day in fresh:
            roll_day(session, day)
        state = state or RollupState(id=1, clean_as_of=started)
        state.clean_as_of = started
        session.add(state)
    if again or fresh:
        log.info("看板日汇总：重算 %d 天，新增 %d 天", len(again), len(fresh))
    return len(again), len(fresh)


def rebuild(
    engine: Engine,
    *,
    since: date | None = None,
    now: datetime | None = None,
    progress: Callable[[date, int], None] | None = None,
) -> int:
    """Roll every complete day from `since` (the first ticket's day by default) again, a day a
    transaction, then catch up on what changed meanwhile; returns the days rolled."""
    now = now or utcnow()
    with session_scope(engine) as session:
        since = since or _first_day(session)
    days = complete_days(since, now) if since else []
    for day in days:
        with session_scope(engine, write=True) as session:
            started = _lock(session)
            rows = roll_day(session, day)
            if session.get(RollupState, 1) is None:
                # The first rolled day: changes from now on are looked for by the reader.
                session.add(RollupState(id=1, clean_as_of=started))
        if progress:
            progress(day, rows)
    refresh(engine, now=now, new_days=0)
    return len(days)


def clear(session: Session, days: Iterable[str] | None = None) -> None:
    """Forget rolled days (all by default): they are read live until rolled again."""
    for table in (RollupCount, RollupDay):
        statement = delete(table)
        if days is not None:
            statement = statement.where(col(table.day).in_(list(days)))
        session.execute(statement)
    if days is None:
        session.execute(delete(RollupState))
