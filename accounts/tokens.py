"""Bearer tokens: issued with a name and an expiry, revoked, and recognised on each request."""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from core.errors import InvalidInput, NotFound
from models import ApiToken, User, id_of, utcnow

DEFAULT_DAYS = 90
MAX_DAYS = 365
FIRST_NAME = "初始令牌"


def hash_token(token: str) -> str:
    """The stored form of a token (tokens are random, so a fast hash suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    session: Session,
    *,
    user: User,
    name: str,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token for the user, valid `days` days; its value is returned this once."""
    name = name.strip()
    if not name:
        raise InvalidInput("令牌须有名称", field="name")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"令牌有效期须为 1–{MAX_DAYS} 天", field="days")
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=id_of(user),
        name=name[:100],
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return row, token


def of_user(session: Session, *, user_id: int) -> list[ApiToken]:
    """The user's tokens, newest first, revoked and expired ones included."""
    query = select(ApiToken).where(ApiToken.user_id == user_id)
    return list(session.exec(query.order_by(col(ApiToken.id).desc())))


def revoke(session: Session, *, user_id: int, token_id: int, now: datetime) -> ApiToken:
    """Revoke one of the user's tokens (already revoked: unchanged); 404 if not theirs."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFound("该用户没有这个令牌")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        session.flush()
    return row


def revoke_all(session: Session, *, user_id: int, now: datetime) -> int:
    """Revoke every live token of the user; how many."""
    result = session.execute(
        update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def user_for_token(session: Session, *, token: str, now: datetime | None = None) -> User | None:
    """The active user holding this live token, if any: one indexed query, never cached.

    Never cached, so that a revoked token or a deactivated user is refused on the very next
    request, in every worker.
    """
    query = (
        select(User)
        .join(ApiToken, col(ApiToken.user_id) == col(User.id))
        .where(
            col(ApiToken.token_hash) == hash_token(token),
            col(ApiToken.revoked_at).is_(None),
            col(ApiToken.expires_at) > (now or utcnow()),
            col(User.active).is_(True),
        )
    )
    user = session.exec(query).first()
    if user is not None:
        session.expunge(user)  # handed to the request, which has its own session
    return user
