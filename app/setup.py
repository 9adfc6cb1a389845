"""Bringing a database up to date: migrations, then the default registry if it has none."""

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from app.migrate import alembic_config, upgrade
from core.db import session_scope
from units import service as units_service


def prepare_database(engine: Engine) -> int:
    """Apply pending migrations and load the default registry into an empty database."""
    upgrade(engine)
    with session_scope(engine, write=True) as session:
        if units_service.registry_is_empty(session):
            return units_service.load_registry(session)
    return 0


def schema_behind(engine: Engine) -> tuple[str, str] | None:
    """(the database's revision, the code's) when `qisu db upgrade` is due, else None."""
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head() or ""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return None if current == head else (current or "空库", head)
