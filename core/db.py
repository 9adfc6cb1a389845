"""Database engine and sessions for SQLite (embedded default) and PostgreSQL."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, create_engine

WRITE_OPTION = "qisu_write"

# PostgreSQL's SQLSTATE for a duplicate key; SQLite says so in its message.
_UNIQUE_VIOLATION = "23505"


def is_unique_clash(exc: IntegrityError) -> bool:
    """Whether the database refused a duplicate key (a rival write won), not malformed data."""
    if getattr(exc.orig, "sqlstate", None) == _UNIQUE_VIOLATION:
        return True
    return "UNIQUE constraint failed" in str(exc.orig)


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets WAL, foreign keys and write-ahead locking."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    # SQLite admits one writer at a time and makes the others poll with growing sleeps, which
    # shows as a long latency tail; this lock queues the process's writers without polling,
    # held only from BEGIN to COMMIT. The busy timeout still arbitrates between processes.
    writer = threading.Lock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash; only power loss can drop the last commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A write transaction takes the lock up front: a deferred one that read first
        # could not upgrade after another writer committed (SQLITE_BUSY_SNAPSHOT).
        if connection.get_execution_options().get(WRITE_OPTION, False):
            writer.acquire()
            connection.info[WRITE_OPTION] = True
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release(connection)
                raise
        else:
            connection.exec_driver_sql("BEGIN")

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _release(connection: Connection) -> None:
        if connection.info.pop(WRITE_OPTION, False):
            writer.release()


def write_engine(engine: Engine) -> Engine:
    """The same engine, but its transactions take SQLite's write lock when they begin."""
    return engine.execution_options(**{WRITE_OPTION: True})


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session that commits when the block ends cleanly and rolls back otherwise."""
    with Session(write_engine(engine) if write else engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def request_session(request: Request) -> Iterator[Session]:
    """The request's session: committed before the response is sent, rolled back on error."""
    engine: Engine = request.app.state.engine
    with session_scope(engine, write=request.method not in ("GET", "HEAD", "OPTIONS")) as session:
        yield session


def read_only_session(request: Request) -> Iterator[Session]:
    """A session for a request that stores nothing, whatever its method: it never takes the
    SQLite writer lock and is rolled back when the endpoint returns."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


SessionDep = Annotated[Session, Depends(request_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(read_only_session, scope="function")]
