"""Sweeps as real processes: two at once, and one killed mid-sweep, breach each deadline once."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bench.sla import NOW, seed
from models import Deadline, DeadlineStatus, Notification, Role, Ticket, TicketEvent, utcnow
from tests.conftest import MakeUser, ticket_payload
from tests.integration.conftest import LiveServer


def sweep_process(engine: Engine, *extra: str) -> subprocess.Popen[str]:
    """`qisu sla sweep` in its own process, printing a line after every batch it commits."""
    env = {
        **os.environ,
        "QISU_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "app.cli", "sla", "sweep", "--now", NOW.isoformat(), *extra]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def lines(process: subprocess.Popen[str]) -> Iterator[str]:
    assert process.stdout
    yield from process.stdout


def tally(engine: Engine) -> dict[str, object]:
    with Session(engine) as session:
        breached = session.scalar(
            select(func.count()).where(col(Deadline.status) == DeadlineStatus.BREACHED)
        )
        events = session.scalar(
            select(func.count()).where(col(TicketEvent.action) == "deadline_breached")
        )
        digests = session.scalars(
            select(col(Notification.data)).where(
                col(Notification.recipient) == "unit:market_regulation"
            )
        )
        to_unit = sum(data["deadlines"] for data in digests)  # deadlines the unit was told of
        levels = set(session.scalars(select(col(Ticket.escalation_level)).distinct()))
    return {"breached": breached, "events": events, "to_unit": to_unit, "levels": levels}


def test_two_sweepers_at_once_breach_each_deadline_once(engine: Engine) -> None:
    due = seed(
        engine, deadlines=4000, due_fraction=0.25, scattered=True, quiet=True
    )  # one per ticket
    sweepers = [sweep_process(engine, "--batch", "40") for _ in range(2)]
    outputs = [process.communicate(timeout=120)[0] for process in sweepers]
    assert [p.returncode for p in sweepers] == [0, 0], outputs
    assert tally(engine) == {"breached": due, "events": due, "to_unit": due, "levels": {1}}
    claimed = [int(out.split("swept as of ")[1].split(": ")[1].split()[0]) for out in outputs]
    assert sum(claimed) == due


def test_a_sweeper_killed_mid_sweep_leaves_nothing_half_done(engine: Engine) -> None:
    due = seed(
        engine, deadlines=8000, due_fraction=0.5, scattered=True, quiet=True
    )  # two per ticket
    first = sweep_process(engine, "--batch", "20")
    for line in lines(first):
        if line.startswith("breached:"):
            first.send_signal(signal.SIGKILL)  # kill -9 right after its first committed batch
            break
    first.wait(timeout=60)
    interrupted = tally(engine)
    if first.returncode != -signal.SIGKILL or interrupted["breached"] == due:
        pytest.fail(f"the sweeper finished before it could be killed: {interrupted}")
    # Whatever the killed process committed is whole: each breach has its event and message.
    assert interrupted["breached"] == interrupted["events"] == interrupted["to_unit"]

    second = sweep_process(engine)
    output = second.communicate(timeout=120)[0]
    assert second.returncode == 0, output
    assert tally(engine) == {"breached": due, "events": due, "to_unit": due, "levels": {2}}


def test_qisu_serve_sweeps_on_its_own(engine: Engine, tmp_path: Path, make_user: MakeUser) -> None:
    desk = make_user(Role.OPERATOR)
    url = engine.url.render_as_string(hide_password=False)
    server = LiveServer(url, tmp_path, QISU_EMBEDDED_SCHEDULER="true", QISU_SWEEP_SECONDS="1")
    server.start()
    try:
        with httpx.Client(base_url=f"{server.url}/api/v1", timeout=30) as http:
            ticket = http.post("/tickets", json=ticket_payload(), headers=desk).json()
            body = {"lead_unit": "market_regulation"}
            http.post(f"/tickets/{ticket['id']}/dispatch", json=body, headers=desk)
            with Session(engine) as session:  # the acknowledge deadline passed a minute ago
                row = session.exec(select(Deadline).where(Deadline.stage == "acknowledge")).one()
                row.due_at = utcnow() - timedelta(minutes=1)
                session.add(row)
                session.commit()
            for _ in range(100):
                shown = http.get(f"/tickets/{ticket['id']}", headers=desk).json()
                if shown["escalation_level"]:
                    break
                time.sleep(0.1)
            assert shown["escalation_level"] == 1 and shown["overdue"]
    finally:
        server.stop()
