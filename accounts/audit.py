"""The security audit log: append a hash-chained record, verify the chain, read and filter it."""

import getpass
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from core.db import session_scope
from models import AuditAction, AuditOutcome, AuditRecord, User, utcnow

GENESIS = "0" * 64
# Appends are serialised so that each row chains to the one before (PostgreSQL's advisory
# lock; on SQLite every write transaction already runs alone).
_LOCK_KEY = 0x51_5A_55_41  # "QSUA"


@dataclass(frozen=True)
class Actor:
    """Who acted, and from where."""

    name: str
    id: int | None = None
    role: str | None = None
    address: str | None = None

    @classmethod
    def of(cls, user: User, address: str | None = None) -> "Actor":
        """A signed-in user, calling from `address`."""
        return cls(name=user.name, id=user.id, role=str(user.role), address=address)

    @classmethod
    def command_line(cls) -> "Actor":
        """Whoever runs `qisu` on the server."""
        try:
            who = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry, e.g. in a container
            who = "unknown"
        return cls(name=f"cli:{who}"[:100], address="local")


def _digest(prev_hash: str, row: AuditRecord) -> str:
    fields = [
        prev_hash,
        row.seq,
        row.at.isoformat(),
        row.actor_id,
        row.actor,
        row.role,
        row.action,
        row.outcome,
        row.address,
        row.target,
        row.detail,
    ]
    canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def append(
    session: Session,
    *,
    actor: Actor,
    action: AuditAction,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    target: str | None = None,
    detail: str | None = None,
) -> AuditRecord:
    """Append one record in the session's write transaction, chained to the last one."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    last = session.exec(select(AuditRecord).order_by(col(AuditRecord.seq).desc()).limit(1)).first()
    # Microseconds survive both databases as they are, so the hash is recomputable from rows.
    row = AuditRecord(
        seq=(last.seq + 1) if last else 1,
        at=utcnow(),
        actor_id=actor.id,
        actor=actor.name[:100],
        role=actor.role,
        action=action.value,
        outcome=outcome.value,
        address=actor.address[:64] if actor.address else None,
        target=target[:100] if target else None,
        detail=detail[:500] if detail else None,
        prev_hash=last.hash if last else GENESIS,
        hash="",
    )
    row.hash = _digest(row.prev_hash, row)
    session.add(row)
    session.flush()
    return row


def record(engine: Engine, **what: object) -> None:
    """Append a record in a transaction of its own (for refusals, whose request rolls back)."""
    with session_scope(engine, write=True) as session:
        append(session, **what)  # type: ignore[arg-type]


@dataclass
class Verification:
    """What `verify` found: rows checked, the head of the chain, and every break."""

    count: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)


def _rows(session: Session, batch: int = 2000) -> Iterator[AuditRecord]:
    after = 0
    while True:
        query = select(AuditRecord).where(col(AuditRecord.seq) > after)
        rows = list(session.exec(query.order_by(col(AuditRecord.seq)).limit(batch)))
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def verify(session: Session) -> Verification:
    """Walk the chain: an edited row breaks its own hash, a deleted one the sequence."""
    found = Verification()
    expected_seq, prev = 1, GENESIS
    for row in _rows(session):
        found.count += 1
        if row.seq != expected_seq:
            found.problems.append(f"第 {expected_seq}–{row.seq - 1} 条记录缺失（被删除）")
        elif row.prev_hash != prev:
            found.problems.append(f"第 {row.seq} 条记录的前序哈希不符（前一条被改动）")
        if _digest(row.prev_hash, row) != row.hash:
            found.problems.append(f"第 {row.seq} 条记录的内容与其哈希不符（被改动）")
        expected_seq, prev = row.seq + 1, row.hash
    found.head = prev
    return found


@dataclass(frozen=True)
class Filters:
    """What the auditor looks for; every part optional."""

    since: datetime | None = None
    until: datetime | None = None
    action: str | None = None
    actor: str | None = None
    outcome: str | None = None
    target: str | None = None


def _where(filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.since is not None:
        conditions.append(col(AuditRecord.at) >= filters.since)
    if filters.until is not None:
        conditions.append(col(AuditRecord.at) < filters.until)
    if filters.action:
        conditions.append(col(AuditRecord.action) == filters.action)
    if filters.actor:
        conditions.append(col(AuditRecord.actor) == filters.actor)
    if filters.outcome:
        conditions.append(col(AuditRecord.outcome) == filters.outcome)
    if filters.target:
        conditions.append(col(AuditRecord.target) == filters.target)
    return conditions


def search(
    session: Session, *, filters: Filters, limit: int, offset: int
) -> tuple[int, list[AuditRecord]]:
    """How many records match, and one page of them, newest first."""
    conditions = _where(filters)
    total = session.exec(select(func.count()).select_from(AuditRecord).where(*conditions)).one()
    query = select(AuditRecord).where(*conditions).order_by(col(AuditRecord.seq).desc())
    return int(total), list(session.exec(query.offset(offset).limit(limit)))


def matching(session: Session, *, filters: Filters, cap: int) -> list[AuditRecord]:
    """Every matching record up to `cap`, oldest first (for an export)."""
    query = select(AuditRecord).where(*_where(filters)).order_by(col(AuditRecord.seq))
    return list(session.exec(query.limit(cap)))
