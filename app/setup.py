"""Bringing a database up to date: migrations, then the default registry if it has none."""

from sqlalchemy.engine import Engine

from app.migrate import upgrade
from core.db import session_scope
from units import service as units_service


def prepare_database(engine: Engine) -> int:
    """Apply pending migrations and load the default registry into an empty database."""
    upgrade(engine)
    with session_scope(engine, write=True) as session:
        if units_service.registry_is_empty(session):
            return units_service.load_registry(session)
    return 0
