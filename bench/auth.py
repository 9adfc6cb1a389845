"""What a bearer token costs per request: an authenticated GET against /healthz, in-process.

Tokens are looked up on every request (no cache since issue 16), so this is the price of
deactivation taking effect at once. Usage: `.venv/bin/python -m bench.auth [sqlite|postgresql]`;
on PostgreSQL it creates and drops its own database on the server QISU_TEST_POSTGRES names.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from accounts import service as accounts_service
from app.main import create_app
from app.setup import prepare_database
from core.config import Settings
from core.db import make_engine, session_scope
from models import Role

REQUESTS = 400


def _timings(client: TestClient, path: str, headers: dict[str, str]) -> list[float]:
    for _ in range(20):  # warm the pool and the route
        client.get(path, headers=headers)
    seconds = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        seconds.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return seconds


def main() -> None:
    """Measure on the backend the first argument names (SQLite by default)."""
    if sys.argv[1:] == ["postgresql"]:
        from tests.conftest import _postgres_database

        for url in _postgres_database():
            measure(url, Path(tempfile.mkdtemp()))
        return
    data = Path(tempfile.mkdtemp())
    measure(f"sqlite:///{data / 'auth.db'}", data)


def measure(url: str, data: Path) -> None:
    """Print median and p99 of an authenticated and an unauthenticated request."""
    engine = make_engine(url)
    prepare_database(engine)
    with session_scope(engine, write=True) as session:
        _, token = accounts_service.create_user(session, name="bench-auth", role=Role.OPERATOR)
    settings = Settings(database_url=url, data_dir=data, embedded_scheduler=False)
    with TestClient(create_app(settings)) as client:
        bare = _timings(client, "/healthz", {})
        # /evaluation-periods: a small authenticated read (one more query than the token's).
        auth = _timings(client, "/api/v1/evaluation-periods", {"Authorization": f"Bearer {token}"})
    for name, seconds in (("/healthz, no token", bare), ("bearer GET", auth)):
        ordered = sorted(seconds)
        print(
            f"{name:20} median {statistics.median(ordered) * 1000:6.2f} ms   "
            f"p99 {ordered[int(len(ordered) * 0.99)] * 1000:6.2f} ms   ({REQUESTS} requests)"
        )
    extra = statistics.median(auth) - statistics.median(bare)
    print(
        f"a bearer request costs {extra * 1000:.2f} ms more at the median ({engine.dialect.name})"
    )


if __name__ == "__main__":
    main()
