"""Chaos on PostgreSQL: 4 servers and 2 schedulers killed at random 20 times under load.

Clients take appeals in, move them round the loop and leave some to breach their (seconds-long)
deadlines, while a killer `kill -9`s a random process and starts it again. Afterwards no
acknowledged intake is missing, no deadline fired twice, and every ticket's events replay to
its stored state.
"""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from deadlines.policy import DEFAULT_POLICY
from models import Deadline, DeadlineStatus, Notification, Role, Ticket
from tests.conftest import LOOP_STEPS, MakeUser, ticket_payload
from tickets.audit import unreplayable

pytestmark = pytest.mark.slow

SERVERS, SCHEDULERS, CLIENTS, KILLS = 4, 2, 6, 20
# Urgent appeals' deadlines in seconds, so that the schedulers warn and breach during the run.
SECONDS_POLICY = {
    "acknowledge: 0.5 clock_hours": "acknowledge: 0.002 clock_hours",  # 7 s
    "contact: 2 clock_hours": "contact: 0.003 clock_hours",
    "reply: 24 clock_hours": "reply: 0.004 clock_hours",
    "return_window: 1 clock_hours": "return_window: 0.002 clock_hours",
}


class Launcher:
    """The prefork launcher (tests/integration/prefork.py): qisu processes started in a blink."""

    def __init__(self) -> None:
        command = [sys.executable, "-m", "tests.integration.prefork"]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout and self.process.stdout.readline() == "ready\n"

    def fork(self, args: list[str], env: dict[str, str], log: Path) -> int:
        assert self.process.stdin and self.process.stdout
        request = {"args": args, "env": env, "log": str(log)}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(timeout=30)


class Forked:
    """One qisu process (`serve` on a fresh port, or `scheduler`) that can die and come back."""

    def __init__(self, launcher: Launcher, command: str, env: dict[str, str], logs: Path) -> None:
        self.launcher, self.command, self.env, self.logs = launcher, command, env, logs
        self.pid = 0
        self.url = ""

    def start(self, *, wait: bool = True) -> None:
        args = [self.command]
        if self.command == "serve":
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            self.url, args = f"http://127.0.0.1:{port}", ["serve", "--port", str(port)]
        log = self.logs / f"{self.command}-{time.monotonic_ns()}.log"
        self.pid = self.launcher.fork(args, self.env, log)
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """A server answers /readyz (a scheduler needs no waiting)."""
        deadline = time.monotonic() + 120
        while self.command == "serve" and time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        if self.command == "serve":
            raise RuntimeError(f"qisu serve (pid {self.pid}) was not ready within 120 s")

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """kill -9 (or another signal), then wait until the process is gone."""
        if self.alive():
            os.kill(self.pid, sig)
        deadline = time.monotonic() + 30
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


@dataclass
class Tally:
    """What the clients saw."""

    acked: dict[str, int] = field(default_factory=dict)  # external id -> ticket id
    steps: int = 0
    transport_errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def send(
    servers: list[Forked], tally: Tally, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response | None:
    """POST to a random server; on a dropped connection try the others (None if all fail)."""
    for server in random.sample(servers, len(servers)) * 3:
        try:
            response = httpx.post(
                f"{server.url}/api/v1{path}", json=body, headers=headers, timeout=20
            )
        except httpx.TransportError:
            with tally.lock:
                tally.transport_errors += 1
            time.sleep(0.2)
            continue
        with tally.lock:
            tally.statuses[response.status_code] += 1
        return response
    return None


def client(
    number: int,
    servers: list[Forked],
    people: dict[str, dict[str, str]],
    tally: Tally,
    stop: threading.Event,
) -> None:
    """Appeals one after another, each taken some way round the loop; urgent ones left to breach."""
    chance = random.Random(number)
    n = number * 10_000
    while not stop.is_set():
        n += 1
        body = ticket_payload(n, urgency="urgent" if n % 2 else "normal")
        taken = send(servers, tally, "/tickets", body, people["desk"])
        if taken is None or taken.status_code not in (200, 201):
            continue
        with tally.lock:
            tally.acked[body["external_id"]] = taken.json()["id"]
        for action, who, step in LOOP_STEPS[: chance.randint(0, len(LOOP_STEPS))]:
            done = send(
                servers, tally, f"/tickets/{taken.json()['id']}/{action}", step, people[who]
            )
            if done is None or done.status_code != 200:
                break  # a retried step that had already happened, or a deadline raced it: 409
            with tally.lock:
                tally.steps += 1


def fired_twice(engine: Engine, action: str) -> list[tuple[Any, ...]]:
    """(ticket, stage, due) that have more than one event of this kind."""
    query = text(
        "SELECT ticket_id, after->>'stage', after->>'due_at', count(*) FROM ticketevent "
        "WHERE action = :action GROUP BY 1, 2, 3 HAVING count(*) > 1"
    )
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query, {"action": action})]


def test_kill_nine_twenty_times_loses_nothing_and_fires_nothing_twice(
    engine: Engine, make_user: MakeUser, tmp_path: Path
) -> None:
    if engine.url.get_backend_name() != "postgresql":
        pytest.skip("the chaos run is for PostgreSQL: several processes write at once")
    began = time.monotonic()
    policy = DEFAULT_POLICY.read_text(encoding="utf-8")
    for shipped, fast in SECONDS_POLICY.items():
        assert shipped in policy
        policy = policy.replace(shipped, fast)
    (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
    env = {
        **os.environ,
        "QISU_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "QISU_DATA_DIR": str(tmp_path),
        "QISU_SLA_POLICY": str(tmp_path / "policy.yaml"),
        "QISU_EMBEDDED_SCHEDULER": "false",  # the two scheduler processes sweep
        "QISU_SWEEP_SECONDS": "0.5",
        "QISU_DELIVERY_SECONDS": "1",
    }
    launcher = Launcher()
    servers = [Forked(launcher, "serve", env, tmp_path) for _ in range(SERVERS)]
    schedulers = [Forked(launcher, "scheduler", env, tmp_path) for _ in range(SCHEDULERS)]
    processes = [*servers, *schedulers]
    people = {
        "desk": make_user(Role.OPERATOR),
        "lead": make_user(Role.UNIT_HANDLER, "market_regulation"),
    }
    tally, stop = Tally(), threading.Event()
    kills: Counter[str] = Counter()
    try:
        for process in processes:
            process.start()
        clients = [
            threading.Thread(target=client, args=(i, servers, people, tally, stop))
            for i in range(CLIENTS)
        ]
        for thread in clients:
            thread.start()
        chance = random.Random(16)
        for _ in range(KILLS):
            time.sleep(chance.uniform(1.5, 3.5))
            victim = chance.choice(processes)
            victim.kill()
            kills[victim.command] += 1
            victim.start(wait=False)  # clients meanwhile find the others
        time.sleep(3)
        stop.set()
        for thread in clients:
            thread.join(timeout=60)
        for server in servers:
            server.wait_ready()
        time.sleep(10)  # the last urgent deadlines fall due and are swept
    finally:
        stop.set()
        for process in processes:
            process.stop()
        launcher.close()
    seconds = time.monotonic() - began

    with Session(engine) as session:
        stored = dict(session.exec(select(col(Ticket.external_id), col(Ticket.id))).all())
        breached = session.scalar(
            select(func.count()).where(col(Deadline.status) == DeadlineStatus.BREACHED)
        )
        digests = session.exec(
            select(col(Notification.recipient), col(Notification.data)).where(
                col(Notification.kind) == "deadline_breached"
            )
        ).all()
        # Each breach is told to its unit once (escalation audiences get their own copies).
        told = sum(data["deadlines"] for to, data in digests if to.startswith("unit:"))
        mismatched = unreplayable(session)
    missing = {key: id_ for key, id_ in tally.acked.items() if stored.get(key) != id_}
    print(
        f"\nchaos: {sum(kills.values())} kills ({kills['serve']} servers, "
        f"{kills['scheduler']} schedulers) in {seconds:.0f} s; {len(tally.acked)} intakes "
        f"acknowledged, {tally.steps} loop steps, {breached} deadlines breached; "
        f"{tally.transport_errors} dropped connections retried; statuses {dict(tally.statuses)}"
    )
    assert sum(kills.values()) == KILLS
    assert len(tally.acked) >= 2 * KILLS and tally.steps >= 2 * KILLS and breached  # it ran
    assert missing == {}
    assert fired_twice(engine, "deadline_breached") == []
    assert fired_twice(engine, "deadline_warned") == []
    with engine.connect() as connection:
        events = connection.scalar(
            text("SELECT count(*) FROM ticketevent WHERE action = 'deadline_breached'")
        )
    assert events == breached == told
    assert mismatched == {}
    assert not [status for status in tally.statuses if status >= 500]
