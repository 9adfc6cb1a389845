"""The district at a glance over 1,000,000 tickets of a year: every chart of one month, timed.

Seeds a fresh database (SQLite by default, `--postgres` for PostgreSQL) with bulk inserts, not
the API: tickets over the last 365 days from every channel, 街镇 and lead unit, most closed and
rated, some repeats, each with its lead assignment (some with an assisting 街镇), its deadlines
(签收, 答复, 回访 for the closed) met or breached, and routing's intake decision. Then times the
supervisors' chart requests for one month through the real app (FastAPI's TestClient, in
process) and prints p50, the slowest of the rounds and the rows behind each. Exit 1 when any
request's slowest round passes the target (500 ms).
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, text
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from accounts import service as accounts_service
from app.main import create_app
from app.migrate import upgrade
from bench.listing import NOW, WORDS, _code, database
from core.config import Settings
from core.db import make_engine, session_scope
from evaluations.service import month_span
from models import (
    Assignment,
    Deadline,
    Enterprise,
    EvaluationPeriod,
    PeriodStatus,
    Role,
    RoutingDecision,
    Ticket,
    Unit,
    UnitKind,
)
from tickets.working_time import SHANGHAI
from units import service as units_service

CHUNK = 25_000
TARGET_MS = 500.0
CHANNELS = ["hotline"] * 6 + ["app"] * 3 + ["web"]
OPEN = ["triage", "dispatched", "acknowledged", "contacted", "replied", "verified", "reopened"]
VERDICTS = ["satisfied"] * 7 + ["basically_satisfied"] * 2 + ["unsatisfied"]


def _deadline(
    ticket_id: int,
    unit: str,
    stage: str,
    status: str,
    started: datetime,
    due: datetime,
    met: datetime | None,
) -> dict[str, object]:
    return {
        "ticket_id": ticket_id, "unit_code": unit, "stage": stage, "status": status,
        "started_at": started, "limit_hours": 8.0, "clock": False, "paused_hours": 0.0,
        "due_at": due, "warn_at": due - timedelta(hours=2), "fallback": False, "met_at": met,
        "breached_at": due if status == "breached" else None, "warned_at": None,
    }  # fmt: skip


def seed(engine: Engine, *, tickets: int, rng: random.Random) -> None:
    """A year of tickets with their assignments, deadlines and routing decisions, in chunks."""
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
    previous: list[int] = []
    for first in range(0, tickets, CHUNK):
        size = min(CHUNK, tickets - first)
        rows, plans = [], []
        for n in range(first, first + size):
            received = NOW - timedelta(minutes=(tickets - n) * 525_600 // tickets)
            status = "closed" if rng.random() < 0.82 else rng.choice(OPEN)
            lead = None if status == "triage" else rng.choice(leads + areas[:3])
            repeat = rng.choice(previous) if previous and rng.random() < 0.06 else None
            rows.append(
                {
                    "id": n + 1,  # a fresh database: ids given, so no RETURNING round trips
                    "source": "bench", "external_id": f"D{n}", "channel": rng.choice(CHANNELS),
                    "received_at": received, "created_at": received, "updated_at": received,
                    "enterprise_code": _code(rng.randrange(enterprises)),
                    "contact_name": "张", "contact_phone": f"139{n:08d}",
                    "title": f"{rng.choice(WORDS)}问题", "address": "嘉定区某路1号",
                    "text": "企业反映" + "，".join(rng.sample(WORDS, 5)) + f"，编号{n}。",
                    "subdistrict": rng.choice(areas), "appeal_type": "complaint",
                    "urgency": "normal", "status": status, "lead_unit": lead, "version": 1,
                    "repeat_of": repeat, "repeat_count": 1 if repeat else 0,
                    "satisfaction": rng.choice(VERDICTS) if status == "closed" else None,
                    "escalation_level": 0, "reopen_count": 0, "return_count": 0,
                    "extension_days": 0,
                }
            )  # fmt: skip
            plans.append((status, lead, received))
        with session_scope(engine, write=True) as session:
            session.execute(insert(Ticket), rows)
            ids = [n + 1 for n in range(first, first + size)]
            assignments, deadlines, decisions = [], [], []
            for ticket_id, (status, lead, received) in zip(ids, plans, strict=True):
                decisions.append(
                    {"ticket_id": ticket_id, "created_at": received, "trigger": "intake",
                     "model_version": "jiading-2026-11" if ticket_id % 3 else "jiading-2026-10",
                     "rule": "line unit" if lead else "low confidence",
                     "dispatched": lead is not None and rng.random() < 0.9, "lead_unit": lead,
                     "locality_source": "address", "assist_units": [], "candidates": [],
                     "screened_by": [], "reasons": [], "repeats": []}
                )  # fmt: skip
                if lead is None:
                    continue
                assignments.append(
                    {"ticket_id": ticket_id, "unit_code": lead, "role": "lead",
                     "state": "returned" if rng.random() < 0.03 else "active",
                     "created_at": received}
                )  # fmt: skip
                if rng.random() < 0.25:
                    assignments.append(
                        {"ticket_id": ticket_id, "unit_code": rng.choice(areas), "role": "assist",
                         "state": "active", "created_at": received}
                    )  # fmt: skip
                stages = ["acknowledge", "reply"] + (["callback"] if status == "closed" else [])
                for k, stage in enumerate(stages):
                    due = received + timedelta(days=1 + 3 * k)
                    done = status == "closed" or (k == 0 and status != "dispatched")
                    late = rng.random() < 0.12
                    state = "breached" if late else ("met" if done else "pending")
                    met = None
                    if done:
                        met = due + timedelta(hours=3) if late else due - timedelta(hours=2)
                    deadlines.append(_deadline(ticket_id, lead, stage, state, received, due, met))
            session.execute(insert(RoutingDecision), decisions)
            session.execute(insert(Assignment), assignments)
            session.execute(insert(Deadline), deadlines)
            previous = list(ids[:: max(1, len(ids) // 500)])
        print(f"  seeded {first + size:,} tickets", flush=True)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("COMMIT"))
            connection.execute(text("VACUUM ANALYZE"))
        else:
            connection.execute(text("ANALYZE"))


def months() -> tuple[str, str]:
    """The last whole month before now and the one before it, as YYYY-MM."""
    today = NOW.astimezone(SHANGHAI).date().replace(day=1)
    last = today - timedelta(days=1)
    before = last.replace(day=1) - timedelta(days=1)
    return last.strftime("%Y-%m"), before.strftime("%Y-%m")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7, help="Requests per chart.")
    parser.add_argument(
        "--postgres", nargs="?", const="postgresql://postgres@127.0.0.1:5432/postgres",
        help="Run on a fresh PostgreSQL database made through this admin URL.",
    )  # fmt: skip
    parser.add_argument(
        "--keep", type=Path, help="A SQLite file: seeded the first time, reused after."
    )
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")
    rng = random.Random(15)
    reuse = args.keep is not None and args.keep.exists()
    month, previous = months()
    with database(args.postgres, args.keep) as url, tempfile.TemporaryDirectory() as data:
        engine = make_engine(url)
        upgrade(engine)
        if not reuse:
            started = time.perf_counter()
            seed(engine, tickets=args.tickets, rng=rng)
            print(f"seeded {args.tickets:,} tickets in {time.perf_counter() - started:.0f} s")
        with session_scope(engine, write=True) as session:
            for name in (previous, month):
                if session.get(EvaluationPeriod, name) is None:
                    starts, ends = month_span(name)
                    session.add(
                        EvaluationPeriod(
                            period=name, starts=starts, ends=ends, status=PeriodStatus.CLOSED
                        )
                    )
            _, boss = accounts_service.create_user(
                session, name=f"boss-{uuid.uuid4().hex[:6]}", role=Role.SUPERVISOR
            )
        engine.dispose()
        settings = Settings(database_url=url, data_dir=Path(data), embedded_scheduler=False)
        starts, ends = month_span(month)
        span = f"from={starts.isoformat()}&to={(ends + timedelta(days=1)).isoformat()}"
        charts = [
            ("每日诉求量（按渠道）", f"/api/v1/dashboard/volume?{span}"),
            ("牵头单位与街镇", f"/api/v1/dashboard/units?{span}"),
            ("闭环漏斗与按时率", f"/api/v1/dashboard/funnel?{span}"),
            ("三率（各部门）", f"/api/v1/dashboard/rates?{span}"),
            ("重复诉求", f"/api/v1/dashboard/repeats?{span}"),
            ("自动分拨与转人工", f"/api/v1/dashboard/routing?{span}"),
            ("模型在线准确率", f"/api/v1/routing/accuracy?{span}"),
            ("一类事（无向量：见 README）", f"/api/v1/clusters?{span}"),
            ("晾晒排名（含上期变化）", f"/api/v1/rankings?period={month}"),
            ("钻取：某单位当月工单", f"/api/v1/tickets?lead_unit=tax&{span}"),
        ]
        backend = "PostgreSQL" if args.postgres else "SQLite"
        print(f"{backend}, {args.tickets:,} tickets over a year; month {month}, "
              f"{args.rounds} requests a chart")  # fmt: skip
        print(f"{'chart':30} {'p50 ms':>8} {'max ms':>8} {'cpu p50':>8}")
        missed = []
        headers = {"Authorization": f"Bearer {boss}"}
        with TestClient(create_app(settings)) as client:
            for name, path in charts:
                first = client.get(path, headers=headers)  # warm caches and check it works
                assert first.status_code == 200, first.text
                times, cpu = [], []
                for _ in range(args.rounds):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    client.get(path, headers=headers)
                    times.append((time.perf_counter() - start) * 1000)
                    cpu.append((time.process_time() - start_cpu) * 1000)
                p50 = statistics.median(times)
                print(
                    f"{name:30} {p50:>8.1f} {max(times):>8.1f} {statistics.median(cpu):>8.1f}",
                    flush=True,
                )
                if max(times) > TARGET_MS:
                    missed.append(name)
            total = client.get(f"/api/v1/dashboard/volume?{span}", headers=headers).json()
            print(f"the month holds {total['total']:,} tickets")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if missed:
        print(f"slowest round above {TARGET_MS:g} ms: {', '.join(missed)}")
        return 1
    print(f"every chart answers under {TARGET_MS:g} ms in every round")
    return 0


if __name__ == "__main__":
    sys.exit(main())
