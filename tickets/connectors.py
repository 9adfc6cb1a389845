"""The city platform connectors this process runs with, and the user each source acts as."""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from accounts import service as accounts_service
from integrations.mapping import Connector, ConnectorError, Vocabulary, load_connector
from integrations.settings import IntegrationSettings
from models import AppealType, Channel, Role, Satisfaction, Unit, Urgency, User
from tickets.lifecycle import TRANSITIONS

VOCABULARY = Vocabulary(
    channels=frozenset(c.value for c in Channel),
    appeal_types=frozenset(a.value for a in AppealType),
    urgencies=frozenset(u.value for u in Urgency),
    satisfactions=frozenset(s.value for s in Satisfaction),
    actions=frozenset(TRANSITIONS),
)


Connectors = Mapping[str, Connector]
"""The platform connectors an app or a command runs with, by source."""

NONE: Connectors = MappingProxyType({})
"""No connector: for a caller whose tickets come from no platform (the demo, a bench)."""


def load(settings: IntegrationSettings) -> dict[str, Connector]:
    """The connectors the settings name (QISU_PLATFORM_SOURCES); a wrong file raises."""
    found: dict[str, Connector] = {}
    for path in settings.platform_sources:
        connector = load_connector(path, vocabulary=VOCABULARY)
        if connector.source in found:
            raise ConnectorError(f"{path}: source {connector.source!r} is configured twice")
        if not settings.platform_secrets.get(connector.source):
            raise ConnectorError(
                f"{path}: source {connector.source!r} has no secret in QISU_PLATFORM_SECRETS"
            )
        found[connector.source] = connector
    return found


def check_registry(session: Session, connectors: Connectors) -> None:
    """Refuse a connector whose unit map names a unit the registry lacks (at start)."""
    registry = set(session.exec(select(Unit.code)))
    if not registry:
        return  # an empty database: the registry is loaded before anything is taken in
    for connector in connectors.values():
        connector.check_units(registry)


def app_connectors(request: Request) -> Connectors:
    """The connectors the app loaded at its start."""
    found: Connectors = request.app.state.connectors
    return found


ConnectorsDep = Annotated[Connectors, Depends(app_connectors)]


def acting_user(session: Session, *, name: str) -> User:
    """The user a channel acts as in the audit trail (created once; its token is never shown)."""
    user = session.exec(select(User).where(User.name == name)).first()
    if user is not None:
        return user
    try:
        with session.begin_nested():
            user, _ = accounts_service.create_user(session, name=name, role=Role.OPERATOR)
    except IntegrityError:  # another request created it meanwhile
        return session.exec(select(User).where(User.name == name)).one()
    return user
