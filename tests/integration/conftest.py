"""A real `qisu serve` process on a free port, over the test database."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine


class LiveServer:
    """A qisu server process that can be started, killed and started again."""

    # How long a start may take; a loaded machine (several suites at once) may need longer.
    ready_seconds = float(os.environ.get("QISU_TEST_READY_SECONDS", "60"))
    command: tuple[str, ...] = ("serve",)  # the qisu command, before its --port

    def __init__(self, database_url: str, data_dir: Path, **env: str) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.extra_env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, *, wait: bool = True) -> None:
        """Start the process (again, on a new port); by default wait until it is ready."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "QISU_DATABASE_URL": self.database_url,
            "QISU_DATA_DIR": str(self.data_dir),
            # Tests drive sweeps and periods themselves; a background job would race them.
            "QISU_EMBEDDED_SCHEDULER": "false",
            **self.extra_env,
        }
        self.log = (self.data_dir / f"server-{port}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *self.command, "--port", str(port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait until /readyz answers 200 (killing the process if it does not in time)."""
        deadline = time.monotonic() + self.ready_seconds
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"qisu serve did not become ready within {self.ready_seconds:g} s")

    def kill(self) -> None:
        """kill -9: no chance to flush or clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.log.close()

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it; on a loaded machine a worker that was just
        respawned may still be importing, so it gets as long as starting up may take."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=self.ready_seconds)
        self.log.close()

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.data_dir.glob("server-*.log"))


@pytest.fixture
def live_server(engine: Engine, tmp_path: Path) -> Iterator[LiveServer]:
    """A running server over the (emptied) test database."""
    server = LiveServer(engine.url.render_as_string(hide_password=False), tmp_path)
    server.start()
    yield server
    server.stop()
