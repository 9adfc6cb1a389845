"""One page of the console's ticket listings over 100,000 tickets, through the real app.

Seeds a fresh database (SQLite by default, `--postgres` for PostgreSQL) with tickets spread
over a year, most of them closed, the open ones with running, warned and breached deadlines,
then times `GET /api/v1/tickets` (50 a page) for the console's views and
`GET /api/v1/workbench/counts`, in process with FastAPI's TestClient (no network), and prints
p50 and p99 of each. Exit 1 when a p50 misses the target (50 ms).
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, text
from sqlmodel import col, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from accounts import service as accounts_service
from app.main import create_app
from app.migrate import upgrade
from core.config import Settings
from core.db import make_engine, session_scope
from models import (
    Assignment,
    Deadline,
    DeadlineStatus,
    Enterprise,
    Role,
    Stage,
    Ticket,
    Unit,
    UnitKind,
)
from tickets.credit_code import check_character
from units import service as units_service

NOW = datetime.now(UTC).replace(microsecond=0)
CHUNK = 20_000
TARGET_MS = 50.0
WORDS = [
    "营业执照", "变更", "许可证", "延续", "补贴", "申报", "噪声", "施工",
    "路灯", "工资", "拖欠", "用电", "增容", "排水", "消防", "年报",
]  # fmt: skip
OPEN_STATUSES = ["triage", "dispatched", "acknowledged", "contacted", "replied", "reopened"]


def _code(n: int) -> str:
    first17 = f"91310114MA1{n:06d}"
    return first17 + check_character(first17)


def seed(engine: Engine, *, tickets: int, rng: random.Random) -> None:
    """Tickets over the last year: 85 % closed, the rest at every open stage."""
    with session_scope(engine, write=True) as session:
        units_service.load_registry(session)
        units = list(session.exec(select(Unit)))
        enterprises = max(1, tickets // 5)
        session.execute(
            insert(Enterprise),
            [
                {"credit_code": _code(n), "name": f"上海{n}号{WORDS[n % len(WORDS)]}有限公司",
                 "address": "嘉定区", "created_at": NOW, "updated_at": NOW}
                for n in range(enterprises)
            ],
        )  # fmt: skip
    leads = [u.code for u in units if u.kind in (UnitKind.LINE, UnitKind.UTILITY)]
    areas = [u.code for u in units if u.kind == UnitKind.SUBDISTRICT]
    for first in range(0, tickets, CHUNK):
        size = min(CHUNK, tickets - first)
        rows, plans = [], []
        for n in range(first, first + size):
            received = NOW - timedelta(minutes=(tickets - n) * 525_600 // tickets)
            status = "closed" if rng.random() < 0.85 else rng.choice(OPEN_STATUSES)
            lead = None if status == "triage" else rng.choice(leads)
            area = rng.choice(areas)
            rows.append(
                {
                    "source": "bench", "external_id": f"L{n}", "channel": "hotline",
                    "received_at": received, "created_at": received, "updated_at": received,
                    "enterprise_code": _code(rng.randrange(enterprises)),
                    "contact_name": "张", "contact_phone": f"139{n:08d}",
                    "title": f"{rng.choice(WORDS)}问题", "address": "嘉定区某路1号",
                    "text": "企业反映" + "，".join(rng.sample(WORDS, 6)) + f"，编号{n}。",
                    "subdistrict": area, "appeal_type": "complaint", "urgency": "normal",
                    "status": status, "lead_unit": lead, "version": 1,
                }
            )  # fmt: skip
            plans.append((status, lead, area, received))
        with session_scope(engine, write=True) as session:
            ids = session.scalars(
                insert(Ticket).returning(col(Ticket.id), sort_by_parameter_order=True), rows
            ).all()
            assignments, deadlines = [], []
            for ticket_id, (status, lead, area, received) in zip(ids, plans, strict=True):
                if lead is None:
                    continue
                assignments.append(
                    {"ticket_id": ticket_id, "unit_code": lead, "role": "lead", "state": "active",
                     "created_at": received}
                )  # fmt: skip
                if rng.random() < 0.3:
                    assignments.append(
                        {"ticket_id": ticket_id, "unit_code": area, "role": "assist",
                         "state": "active", "created_at": received}
                    )  # fmt: skip
                for k, stage in enumerate((Stage.ACKNOWLEDGE, Stage.CONTACT, Stage.REPLY)):
                    due = received + timedelta(days=1 + 3 * k)
                    if status == "closed" or (status != "dispatched" and k == 0):
                        state, met = DeadlineStatus.MET, due - timedelta(hours=1)
                    else:
                        roll = rng.random()
                        state = (
                            DeadlineStatus.BREACHED if roll < 0.15
                            else DeadlineStatus.WARNED if roll < 0.3
                            else DeadlineStatus.PENDING
                        )  # fmt: skip
                        met = None
                        if state != DeadlineStatus.PENDING:
                            due = NOW + timedelta(hours=rng.uniform(-48, 4))
                        else:
                            due = NOW + timedelta(hours=rng.uniform(4, 120))
                    deadlines.append(
                        {"ticket_id": ticket_id, "unit_code": lead, "stage": stage,
                         "status": state, "started_at": received, "limit_hours": 8.0,
                         "clock": False, "paused_hours": 0.0, "due_at": due,
                         "warn_at": due - timedelta(hours=2), "fallback": False, "met_at": met,
                         "breached_at": due if state == DeadlineStatus.BREACHED else None,
                         "warned_at": due if state != DeadlineStatus.PENDING else None}
                    )  # fmt: skip
            session.execute(insert(Assignment), assignments)
            session.execute(insert(Deadline), deadlines)
        print(f"  seeded {first + size:,} tickets", flush=True)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


@contextmanager
def database(postgres: str | None, keep: Path | None) -> Iterator[str]:
    if keep is not None:
        yield f"sqlite:///{keep.resolve()}"
        return
    if postgres is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    name = f"qisu_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
        try:
            base = postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            yield f"{base}/{name}"
        finally:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30, help="Requests per view.")
    parser.add_argument(
        "--postgres", nargs="?", const="postgresql://postgres@127.0.0.1:5432/postgres",
        help="Run on a fresh PostgreSQL database made through this admin URL.",
    )  # fmt: skip
    parser.add_argument(
        "--keep", type=Path, help="A SQLite file: seeded the first time, reused after."
    )
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")
    rng = random.Random(12)
    reuse = args.keep is not None and args.keep.exists()
    with database(args.postgres, args.keep) as url, tempfile.TemporaryDirectory() as data:
        engine = make_engine(url)
        upgrade(engine)
        if not reuse:
            started = time.perf_counter()
            seed(engine, tickets=args.tickets, rng=rng)
            print(f"seeded {args.tickets:,} tickets in {time.perf_counter() - started:.0f} s")
        with session_scope(engine, write=True) as session:
            suffix = uuid.uuid4().hex[:6]
            _, desk = accounts_service.create_user(
                session, name=f"desk-{suffix}", role=Role.OPERATOR
            )
            _, unit = accounts_service.create_user(
                session,
                name=f"market-{suffix}",
                role=Role.UNIT_HANDLER,
                unit_code="market_regulation",
            )
        engine.dispose()
        settings = Settings(database_url=url, data_dir=Path(data), embedded_scheduler=False)
        views = [
            ("desk: all, newest first", desk, "/api/v1/tickets"),
            ("desk: page 100", desk, "/api/v1/tickets?offset=5000"),
            ("desk: by next deadline", desk, "/api/v1/tickets?sort=due_at"),
            ("desk: light=red", desk, "/api/v1/tickets?light=red"),
            ("desk: status=dispatched|reopened", desk,
             "/api/v1/tickets?status=dispatched&status=reopened"),
            ("desk: q=许可证 (search)", desk, "/api/v1/tickets?q=%E8%AE%B8%E5%8F%AF%E8%AF%81"),
            ("desk: q=编号99999 (rare)", desk, "/api/v1/tickets?q=%E7%BC%96%E5%8F%B799999"),
            ("unit: 待签收", unit,
             "/api/v1/tickets?lead_unit=market_regulation&status=dispatched&status=reopened"),
            ("unit: 临期 by deadline", unit,
             "/api/v1/tickets?unit=market_regulation&light=yellow&sort=due_at"),
            ("unit: 已超期", unit, "/api/v1/tickets?unit=market_regulation&light=red"),
            ("unit: 已办结", unit,
             "/api/v1/tickets?lead_unit=market_regulation&status=replied&status=verified"
             "&status=closed"),
            ("unit: workbench counts", unit, "/api/v1/workbench/counts"),
            ("desk: workbench counts", desk, "/api/v1/workbench/counts"),
        ]  # fmt: skip
        missed = []
        backend = "PostgreSQL" if args.postgres else "SQLite"
        print(f"{backend}, {args.tickets:,} tickets, {args.rounds} requests a view, 50 a page")
        # CPU time of this process (the app runs in it, SQLite too) shows what a request costs
        # when the machine is shared; wall time is what a user waits.
        print(f"{'view':42} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'cpu p50':>8}")
        with TestClient(create_app(settings)) as client:
            for name, token, url_ in views:
                headers = {"Authorization": f"Bearer {token}"}
                first = client.get(url_, headers=headers)  # warm caches and check it works
                assert first.status_code == 200, first.text
                body = first.json()
                count = body.get("count", sum(body.values()) if "done" in body else 0)
                times, cpu = [], []
                for _ in range(args.rounds):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    client.get(url_, headers=headers)
                    times.append((time.perf_counter() - start) * 1000)
                    cpu.append((time.process_time() - start_cpu) * 1000)
                times.sort()
                p50 = statistics.median(times)
                p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
                print(
                    f"{name:42} {count:>7} {p50:>8.1f} {p99:>8.1f} {statistics.median(cpu):>8.1f}",
                    flush=True,
                )
                if p50 > TARGET_MS:
                    missed.append(name)
    if missed:
        print(f"p50 above {TARGET_MS:g} ms: {', '.join(missed)}")
        return 1
    print(f"every view's p50 is under {TARGET_MS:g} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
