"""Fixtures of the app's tests: the trained tiny model the demo is routed by, and a migrated
data directory for the commands that refuse a database behind the code (only `qisu serve` and
`qisu db upgrade` migrate)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.setup import prepare_database
from core.db import make_engine
from tests.conftest import _postgres_database
from tests.routing.conftest import models_dir

__all__ = ["migrated", "models_dir"]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend, for migrating step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    yield from _postgres_database()


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    """`tmp_path` as a data directory whose SQLite database `qisu db upgrade` prepared."""
    engine = make_engine(f"sqlite:///{tmp_path / 'qisu.db'}")
    prepare_database(engine)
    engine.dispose()
    return tmp_path
