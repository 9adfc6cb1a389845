"""One deadline sweep over 1,000,000 open deadlines of which 1 % are due, on SQLite and PostgreSQL.

Seeds a fresh database per backend (250,000 tickets with four deadlines each), times one sweep
as `qisu scheduler` runs it, checks that exactly the due rows were breached, and fails (exit 1)
when a check fails or the SQLite sweep takes longer than the 2-second target.
"""

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import Engine, func, insert, select
from sqlmodel import col

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.migrate import upgrade
from app.scheduler import sweep
from core.db import make_engine, session_scope
from deadlines.policy import load_policy
from models import Deadline, DeadlineStatus, Enterprise, Stage, Ticket, TicketEvent
from units import service as units_service

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
STAGES = (Stage.ACKNOWLEDGE, Stage.CONTACT, Stage.REPLY, Stage.CALLBACK)
CHUNK = 50_000


def seed(
    engine: Engine,
    *,
    deadlines: int,
    due_fraction: float,
    scattered: bool = False,
    quiet: bool = False,
) -> int:
    """Insert tickets with four open deadlines each; returns how many deadlines are due.

    Clustered (the default, as in life): the due deadlines belong to the oldest tickets, one
    each, since a deadline falls due a fixed working time after its ticket came in. Scattered
    (the worst case for the database's pages): every n-th deadline is due.
    """
    tickets = deadlines // len(STAGES)
    every = round(1 / due_fraction)
    oldest = round(deadlines * due_fraction)

    def is_due(n: int, k: int) -> bool:
        return (n * len(STAGES) + k) % every == 0 if scattered else (n < oldest and k == 0)

    with session_scope(engine, write=True) as session:
        units_service.load_registry(session)
        session.add(Enterprise(credit_code="91310114MA1000001X", name="基准测试企业"))
    later = NOW + timedelta(days=20)
    for first in range(0, tickets, CHUNK):
        size = min(CHUNK, tickets - first)
        with session_scope(engine, write=True) as session:
            ids = session.scalars(
                insert(Ticket).returning(col(Ticket.id), sort_by_parameter_order=True),
                [
                    {
                        "source": "bench",
                        "external_id": f"B{first + n}",
                        "channel": "hotline",
                        "received_at": NOW,
                        "created_at": NOW,
                        "updated_at": NOW,
                        "enterprise_code": "91310114MA1000001X",
                        "contact_name": "张",
                        "contact_phone": "13900000000",
                        "text": "基准",
                        "address": "嘉定",
                        "appeal_type": "complaint",
                        "urgency": "normal",
                        "status": "dispatched",
                        "lead_unit": "market_regulation",
                        "version": 1,
                    }
                    for n in range(size)
                ],
            ).all()
            rows = []
            for n, ticket_id in enumerate(ids, first):
                for k, stage in enumerate(STAGES):
                    due = is_due(n, k)
                    at = NOW - timedelta(minutes=5) if due else later
                    rows.append(
                        {
                            "ticket_id": ticket_id,
                            "unit_code": "market_regulation",
                            "stage": stage,
                            "status": DeadlineStatus.PENDING,
                            "started_at": NOW - timedelta(days=1),
                            "limit_hours": 40.0,
                            "clock": False,
                            "paused_hours": 0.0,
                            "warn_at": at - timedelta(hours=8),
                            "due_at": at,
                            "fallback": False,
                        }
                    )
            session.execute(insert(Deadline), rows)
        if not quiet:
            print(f"  seeded {(first + size) * len(STAGES):,} deadlines", flush=True)
    return sum(is_due(n, k) for n in range(tickets) for k in range(len(STAGES)))


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/bench.db"


@contextmanager
def postgres_url(admin: str) -> Iterator[str]:
    name = f"qisu_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        try:
            base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            yield f"{base}/{name}"
        finally:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(url: str, *, deadlines: int, due_fraction: float, scattered: bool) -> dict[str, float]:
    """Seed, sweep once, check the result; returns the figures."""
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    due = seed(engine, deadlines=deadlines, due_fraction=due_fraction, scattered=scattered)
    seeded = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    policy = load_policy()
    started = time.perf_counter()
    result = sweep(engine, policy=policy, now=NOW)
    swept = time.perf_counter() - started
    with session_scope(engine) as session:
        breached = session.scalar(
            select(func.count()).where(col(Deadline.status) == DeadlineStatus.BREACHED)
        )
        events = session.scalar(select(func.count()).select_from(TicketEvent))
    engine.dispose()
    checks = {
        "breached as due": result.breached == due == breached,
        "one event per breach": events == due,
        "nothing warned early": result.warned == 0,
    }
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        raise SystemExit(f"check failed: {', '.join(failed)} ({result}, {due} due)")
    return {"seed_s": seeded, "sweep_s": swept, "due": due, "breached": result.breached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deadlines", type=int, default=1_000_000, help="open deadlines")
    parser.add_argument("--due", type=float, default=0.01, help="fraction due at the sweep")
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="admin URL of a PostgreSQL server ('' skips it)",
    )
    parser.add_argument(
        "--scattered",
        action="store_true",
        help="spread the due deadlines over the whole table (the worst case for its pages)",
    )
    parser.add_argument("--target", type=float, default=2.0, help="SQLite sweep target, seconds")
    args = parser.parse_args()
    backends = [("sqlite", sqlite_url())]
    if args.postgres:
        backends.append(("postgresql", postgres_url(args.postgres)))
    figures = {}
    for name, url_context in backends:
        spread = "scattered" if args.scattered else "clustered"
        print(
            f"{name}: seeding {args.deadlines:,} deadlines, {args.due:.0%} due ({spread})",
            flush=True,
        )
        with url_context as url:
            figures[name] = measure(
                url, deadlines=args.deadlines, due_fraction=args.due, scattered=args.scattered
            )
        f = figures[name]
        print(
            f"{name}: one sweep breached {f['breached']:,} of {args.deadlines:,} in "
            f"{f['sweep_s']:.2f} s (seeding took {f['seed_s']:.0f} s)",
            flush=True,
        )
    sqlite = figures["sqlite"]["sweep_s"]
    verdict = "meets" if sqlite < args.target else "MISSES"
    print(f"SQLite sweep {sqlite:.2f} s {verdict} the {args.target:g} s target")
    if sqlite >= args.target:
        sys.exit(1)


if __name__ == "__main__":
    main()
