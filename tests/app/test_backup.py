"""`qisu db backup` and `qisu db restore` as real processes, on SQLite and PostgreSQL."""

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from app.migrate import upgrade
from app.scheduler import sweep
from core.db import make_engine
from deadlines.policy import load_policy
from models import Role, utcnow
from tests.conftest import LOOP_STEPS, MakeUser, _postgres_database, ticket_payload


def qisu_db(url: str, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """`qisu db ...` in its own process, on the database at URL."""
    env = {**os.environ, "QISU_DATABASE_URL": url}
    if path is not None:
        env["PATH"] = path
    command = [sys.executable, "-m", "app.cli", "db", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def fresh_url(engine: Engine, tmp_path: Path) -> Iterator[str]:
    """An empty database on the same backend: not even migrated."""
    if engine.url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    yield from _postgres_database()


def hashable(value: Any) -> Any:
    """A column's value as a set can hold it (PostgreSQL gives JSON columns as dicts)."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def every_row(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, in primary key order."""
    engine = make_engine(url)
    found = {}
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            keys = inspect(engine).get_pk_constraint(table)["constrained_columns"] or ["1"]
            order = ", ".join(f'"{key}"' if key != "1" else key for key in keys)
            rows = connection.execute(text(f'SELECT * FROM "{table}" ORDER BY {order}'))
            found[table] = [tuple(map(hashable, row)) for row in rows]
    engine.dispose()
    return found


def load_through_the_loop(client: TestClient, make_user: MakeUser, count: int) -> None:
    """Tickets at every step of the loop, some returned, and a sweep that breaches deadlines."""
    people = {
        "desk": make_user(Role.OPERATOR),
        "lead": make_user(Role.UNIT_HANDLER, "market_regulation"),
    }
    for n in range(count):
        ticket = client.post("/api/v1/tickets", json=ticket_payload(n), headers=people["desk"])
        assert ticket.status_code == 201, ticket.text
        for action, who, body in LOOP_STEPS[: n % (len(LOOP_STEPS) + 1)]:
            url = f"/api/v1/tickets/{ticket.json()['id']}/{action}"
            assert client.post(url, json=body, headers=people[who]).status_code == 200
        if n % 7 == 2:  # dispatched and acknowledged: handed back
            url = f"/api/v1/tickets/{ticket.json()['id']}/return"
            assert (
                client.post(
                    url, json={"reason": "不属本单位职责"}, headers=people["lead"]
                ).status_code
                == 200
            )


def test_a_backup_taken_while_writes_happen_restores_whole(
    engine: Engine, client: TestClient, make_user: MakeUser, fresh_url: str, tmp_path: Path
) -> None:
    load_through_the_loop(client, make_user, 30)
    sweep(engine, policy=load_policy(), now=utcnow().replace(year=2027))
    desk = make_user(Role.OPERATOR)
    acked: list[int] = []
    stop = threading.Event()

    def write() -> None:  # intakes, one after another, until told to stop
        n = 1000
        while not stop.is_set():
            response = client.post("/api/v1/tickets", json=ticket_payload(n), headers=desk)
            assert response.status_code == 201, response.text
            acked.append(response.json()["id"])
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(acked) < 5:
            threading.Event().wait(0.05)
        before = list(acked)
        backed = qisu_db(url_of(engine), "backup", str(tmp_path / "during.bak"))
        while len(acked) < len(before) + 20:  # writes carried on while and after it ran
            threading.Event().wait(0.05)
    finally:
        stop.set()
        writer.join()
    assert backed.returncode == 0, backed.stderr
    restored = qisu_db(fresh_url, "restore", str(tmp_path / "during.bak"))
    assert restored.returncode == 0, restored.stderr
    assert "restored" in restored.stdout and "migrated" not in restored.stdout

    source, copy = every_row(url_of(engine)), every_row(fresh_url)
    assert source.keys() == copy.keys()
    for table, rows in copy.items():  # a snapshot: every row it has is as the source has it
        assert set(rows) <= set(source[table]), table
    tickets = {row[0] for row in copy["ticket"]}
    assert set(before) <= tickets and not set(acked) <= tickets
    assert len(copy["ticketevent"]) > len(copy["ticket"]) > 30
    assert any(row for row in copy["deadline"] if "breached" in row)

    # Once writes have stopped, a backup restores to exactly the same rows, table by table.
    assert qisu_db(url_of(engine), "backup", str(tmp_path / "quiet.bak")).returncode == 0
    refused = qisu_db(fresh_url, "restore", str(tmp_path / "quiet.bak"))
    assert refused.returncode == 2 and "已有数据" in refused.stderr and "--force" in refused.stderr
    forced = qisu_db(fresh_url, "restore", "--force", str(tmp_path / "quiet.bak"))
    assert forced.returncode == 0, forced.stderr
    source, copy = every_row(url_of(engine)), every_row(fresh_url)
    for table in source:
        assert copy[table] == source[table], table


def test_restore_checks_the_backup_s_migration(engine: Engine, tmp_path: Path) -> None:
    if engine.url.get_backend_name() != "sqlite":
        pytest.skip("the revision check is the same code on both; SQLite's files are editable")
    old = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(make_engine(old), "0008")
    assert qisu_db(old, "backup", str(tmp_path / "old.bak")).returncode == 0
    into = f"sqlite:///{tmp_path / 'into.db'}"
    restored = qisu_db(into, "restore", str(tmp_path / "old.bak"))
    assert restored.returncode == 0, restored.stderr
    assert (
        "migration 0008" in restored.stdout and "migrated to the current schema" in restored.stdout
    )
    assert every_row(into)["alembic_version"] == every_row(url_of(engine))["alembic_version"]

    with closing(sqlite3.connect(tmp_path / "old.bak")) as newer:
        newer.execute("UPDATE alembic_version SET version_num = '0999'")
        newer.commit()
    refused = qisu_db(f"sqlite:///{tmp_path / 'other.db'}", "restore", str(tmp_path / "old.bak"))
    assert refused.returncode == 2 and "迁移版本 0999" in refused.stderr, refused.stderr

    plain = tmp_path / "not-a-backup.bak"
    plain.write_text("hello", encoding="utf-8")
    refused = qisu_db(into, "restore", "--force", str(plain))
    assert refused.returncode == 2 and "不是 qisu 的 SQLite 备份" in refused.stderr


def test_without_pg_dump_the_error_says_what_to_install(engine: Engine, tmp_path: Path) -> None:
    if engine.url.get_backend_name() != "postgresql":
        pytest.skip("SQLite needs no outside tool")
    result = qisu_db(url_of(engine), "backup", str(tmp_path / "x.bak"), path=str(tmp_path))
    assert result.returncode == 2 and "未找到 pg_dump" in result.stderr, result.stderr
    assert "postgresql-client" in result.stderr and not (tmp_path / "x.bak").exists()
