"""`qisu serve --workers 2`: both workers serve, and a worker killed with -9 is replaced."""

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from models import Role
from tests.conftest import MakeUser, ticket_payload
from tests.integration.conftest import LiveServer

pytestmark = pytest.mark.slow


class WorkersServer(LiveServer):
    """`qisu serve --workers 2`, given long to start: each worker imports qisu on its own."""

    ready_seconds = 240.0
    command = ("serve", "--workers", "2")


def workers(supervisor: int) -> set[int]:
    """The supervisor's worker processes (multiprocessing's resource tracker left out)."""
    found = set()
    for pid in Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split():
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"resource_tracker" not in command:
            found.add(int(pid))
    return found


def test_a_killed_worker_is_replaced(engine: Engine, make_user: MakeUser, tmp_path: Path) -> None:
    if engine.url.get_backend_name() != "postgresql":
        pytest.skip("several workers write at once: PostgreSQL's case")
    desk = make_user(Role.OPERATOR)
    server = WorkersServer(engine.url.render_as_string(hide_password=False), tmp_path)
    server.start()
    try:
        assert server.process is not None
        first = workers(server.process.pid)
        assert len(first) == 2
        os.kill(next(iter(first)), signal.SIGKILL)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            now = workers(server.process.pid)
            if len(now) == 2 and now != first:
                break
            time.sleep(0.5)
        assert len(now) == 2 and len(now & first) == 1, (first, now)
        server.wait_ready()
        with httpx.Client(base_url=f"{server.url}/api/v1", timeout=30) as http:
            taken = [http.post("/tickets", json=ticket_payload(n), headers=desk) for n in range(6)]
        assert [r.status_code for r in taken] == [201] * 6
    finally:
        server.stop()
