"""Backing up and restoring the database: SQLite's online backup API, PostgreSQL's pg_dump.

A SQLite backup is a consistent copy taken while the server runs (the backup API reads one
snapshot; WAL lets writers carry on). A PostgreSQL backup is `pg_dump --format=custom`, which
also reads one snapshot; `pg_restore` loads it. Restoring refuses a target that already holds
data unless forced, and a backup made by a newer qisu (a migration this code does not know).
"""

import re
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from app.migrate import alembic_config, upgrade

# Tables a fresh database already fills (`qisu db upgrade` loads the default registry).
SETUP_TABLES = {"alembic_version", "unit"}


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, in Chinese."""


@dataclass(frozen=True)
class Restored:
    """What a restore did: the backup's migration revision and whether it was then upgraded."""

    revision: str
    upgraded: bool


def _sqlite_path(engine: Engine) -> Path | None:
    if engine.url.get_backend_name() != "sqlite":
        return None
    if not engine.url.database or engine.url.database == ":memory:":
        raise BackupError("内存中的 SQLite 数据库无法备份或恢复")
    return Path(engine.url.database)


def _libpq_url(engine: Engine) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver suffix)."""
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"未找到 {name}：PostgreSQL 的备份与恢复需要与服务器版本一致的客户端工具"
            f"（Debian/Ubuntu：apt install postgresql-client），请安装后重试"
        )
    return found


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} 执行失败：{done.stderr.strip()}")
    return done.stdout


def backup(engine: Engine, file: Path) -> None:
    """Write a consistent copy of the database to FILE (replaced only once it is complete)."""
    partial = file.with_name(file.name + ".partial")
    partial.unlink(missing_ok=True)
    source = _sqlite_path(engine)
    if source is None:
        _run([_tool("pg_dump"), "--format=custom", f"--file={partial}", _libpq_url(engine)])
    else:
        if not source.is_file():
            raise BackupError(f"数据库文件 {source} 不存在")
        with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(partial)) as copy:
            live.backup(copy)  # one step: a single read snapshot, writers are not blocked
    partial.replace(file)


def backup_revision(engine: Engine, file: Path) -> str:
    """The migration revision the backup in FILE was made at."""
    if not file.is_file():
        raise BackupError(f"备份文件 {file} 不存在")
    if _sqlite_path(engine) is None:
        # The alembic_version table's data as the SQL pg_restore would run: a COPY block.
        script = _run(
            [_tool("pg_restore"), "--data-only", "--table=alembic_version", "-f", "-", str(file)]
        )
        found = re.search(r"^COPY [^\n]*alembic_version[^\n]*FROM stdin;\n([^\n\\]+)", script, re.M)
        if found is None:
            raise BackupError(f"{file} 不是 qisu 的 PostgreSQL 备份（没有迁移版本）")
        return found.group(1).strip()
    try:
        with closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True)) as backup_db:
            row = backup_db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        raise BackupError(f"{file} 不是 qisu 的 SQLite 备份") from None
    if row is None:
        raise BackupError(f"{file} 不是 qisu 的 SQLite 备份（没有迁移版本）")
    return str(row[0])


def holding_data(engine: Engine) -> list[str]:
    """The tables of the target that hold rows beyond what a fresh database has."""
    names = [n for n in inspect(engine).get_table_names() if n not in SETUP_TABLES]
    with engine.connect() as connection:
        return [
            name
            for name in names
            if connection.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first() is not None
        ]


def restore(engine: Engine, file: Path, *, force: bool = False) -> Restored:
    """Replace the database with the backup in FILE, then apply migrations newer than it."""
    revision = backup_revision(engine, file)
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    known = {script.revision for script in scripts.walk_revisions()}
    if revision not in known:
        raise BackupError(
            f"备份的迁移版本 {revision} 不在本版本 qisu 已知的迁移中（{min(known)}–{max(known)}），"
            "它来自更新的 qisu：请用那个版本恢复"
        )
    occupied = holding_data(engine)
    if occupied and not force:
        raise BackupError(
            f"目标数据库已有数据（{'、'.join(occupied[:5])}{'等' if len(occupied) > 5 else ''}），"
            "恢复会覆盖它们；确认无误请加 --force"
        )
    target = _sqlite_path(engine)
    engine.dispose()
    if target is None:
        # --clean drops what the target has first; one transaction: all of it or nothing.
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={_libpq_url(engine)}",
                str(file),
            ]
        )
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        # The backup API in reverse overwrites the target page by page, its WAL included.
        with (
            closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True)) as source,
            closing(sqlite3.connect(target)) as live,
        ):
            source.backup(live)
    upgraded = revision != scripts.get_current_head()
    if upgraded:
        upgrade(engine)
    return Restored(revision=revision, upgraded=upgraded)
