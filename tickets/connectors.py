"""The city platform connectors this process runs with, and the user each source acts as."""

from functools import lru_cache

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from accounts import service as accounts_service
from integrations.mapping import Connector, ConnectorError, Vocabulary, load_connector
from integrations.settings import get_integration_settings
from models import AppealType, Channel, Role, Satisfaction, Unit, Urgency, User
from tickets.lifecycle import TRANSITIONS

VOCABULARY = Vocabulary(
    channels=frozenset(c.value for c in Channel),
    appeal_types=frozenset(a.value for a in AppealType),
    urgencies=frozenset(u.value for u in Urgency),
    satisfactions=frozenset(s.value for s in Satisfaction),
    actions=frozenset(TRANSITIONS),
)


@lru_cache
def current() -> dict[str, Connector]:
    """The configured connectors by source (QISU_PLATFORM_SOURCES); a wrong file raises."""
    settings = get_integration_settings()
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


def secret(source: str) -> str:
    """The source's HMAC secret."""
    return get_integration_settings().platform_secrets[source]


def check_registry(session: Session) -> None:
    """Refuse a connector whose unit map names a unit the registry lacks (at start)."""
    registry = set(session.exec(select(Unit.code)))
    if not registry:
        return  # an empty database: the registry is loaded before anything is taken in
    for connector in current().values():
        connector.check_units(registry)


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
