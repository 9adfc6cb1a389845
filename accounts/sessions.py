"""Console sessions: signing in with a password, recognising the cookie, signing out."""

import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from accounts import passwords, totp
from accounts.tokens import hash_token
from core.config import Settings
from core.errors import Forbidden, Locked, NotAuthenticated
from models import LoginFailure, User, UserSession, id_of

# A session's last-seen time is written at most this often, so that reading pages does not
# write on every request; the idle limit is therefore counted to within this interval.
TOUCH_EVERY = timedelta(seconds=60)

BAD_CREDENTIALS = "登录名或密码错误"
SIGN_IN_FIRST = "请先登录"
EXPIRED = "登录已超时，请重新登录"
INACTIVE = "账户已停用，请联系管理员"
TOTP_REQUIRED = "请输入身份验证器上的 6 位动态口令"
BAD_TOTP = "动态口令错误或已使用过，请输入验证器上当前的口令"


def locked_message(settings: Settings) -> str:
    """What a locked login is told."""
    return (
        f"密码连续错误 {settings.login_max_failures} 次，账户已锁定，"
        f"请 {settings.login_lockout_minutes} 分钟后再试"
    )


def sign_in(
    session: Session,
    *,
    login: str,
    password: str,
    settings: Settings,
    now: datetime,
    user_agent: str | None = None,
    address: str | None = None,
    totp_code: str | None = None,
) -> tuple[User, UserSession, str]:
    """Check the password (and the second factor, if enrolled) and open a session.

    Returns the user, the session and its cookie value. A refusal may have counted a wrong
    password: the caller commits before answering.
    """
    login = passwords.normalize_login(login)[:64]
    failure = session.get(LoginFailure, login)
    if failure is not None and failure.locked_until is not None and failure.locked_until > now:
        raise Locked(locked_message(settings), code="account_locked")
    user = session.exec(select(User).where(User.login == login)).first()
    # An unknown login is checked against a dummy hash: the same answer in the same time.
    if not passwords.verify(password, user.password_hash if user else None) or user is None:
        if _count_failure(session, login=login, settings=settings, now=now):
            raise Locked(locked_message(settings), code="account_locked")
        raise NotAuthenticated(BAD_CREDENTIALS, code="bad_credentials")
    if not user.active:
        raise Forbidden(INACTIVE, code="account_inactive")
    if user.totp_secret is not None:
        _check_second_factor(session, user=user, code=totp_code, settings=settings, now=now)
    if failure is not None:
        session.delete(failure)
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
        session.add(user)
    user.last_sign_in_at = now
    session.add(user)
    token = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=hash_token(token),
        user_id=id_of(user),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=_expiry(created=now, seen=now, settings=settings),
        user_agent=user_agent[:300] if user_agent else None,
        address=address[:64] if address else None,
    )
    session.add(row)
    session.flush()
    return user, row, token


def _check_second_factor(
    session: Session, *, user: User, code: str | None, settings: Settings, now: datetime
) -> None:
    """The TOTP code of an enrolled user: absent asks for it, wrong or replayed counts a failure."""
    assert user.totp_secret is not None and user.login is not None
    if not code:
        raise NotAuthenticated(TOTP_REQUIRED, code="totp_required", field="totp")
    used = totp.matching_step(user.totp_secret, code, now)
    if used is None or (user.totp_last_step is not None and used <= user.totp_last_step):
        if _count_failure(session, login=user.login, settings=settings, now=now):
            raise Locked(locked_message(settings), code="account_locked")
        raise NotAuthenticated(BAD_TOTP, code="bad_totp", field="totp")
    user.totp_last_step = used


def end_all(session: Session, *, user_id: int, now: datetime) -> int:
    """End every open session of the user (deactivation, a new password); how many."""
    result = session.execute(
        update(UserSession)
        .where(col(UserSession.user_id) == user_id, col(UserSession.ended_at).is_(None))
        .values(ended_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _count_failure(session: Session, *, login: str, settings: Settings, now: datetime) -> bool:
    """Count one wrong password for the login; whether that locks it."""
    # Insert-if-absent, then lock the row: concurrent attempts on several workers each count.
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(LoginFailure)
        .values(login=login, failures=0, last_failed_at=now)
        .on_conflict_do_nothing(index_elements=["login"])
    )
    query = select(LoginFailure).where(LoginFailure.login == login).with_for_update()
    row = session.exec(query.execution_options(populate_existing=True)).one()
    if row.locked_until is not None and row.locked_until <= now:
        row.failures, row.locked_until = 0, None  # the lock has run out: count afresh
    row.failures += 1
    row.last_failed_at = now
    if row.failures >= settings.login_max_failures:
        row.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
    session.add(row)
    session.flush()
    return row.locked_until is not None


def _expiry(*, created: datetime, seen: datetime, settings: Settings) -> datetime:
    idle = seen + timedelta(minutes=settings.session_idle_minutes)
    return min(idle, created + timedelta(hours=settings.session_max_hours))


def resume(session: Session, *, token: str, now: datetime) -> tuple[User, UserSession]:
    """The live session behind a cookie value and its user, or the 401 that says why not."""
    query = select(UserSession).where(UserSession.token_hash == hash_token(token))
    row = session.exec(query).first()
    if row is None or row.ended_at is not None:
        raise NotAuthenticated(SIGN_IN_FIRST)
    if row.expires_at <= now:
        raise NotAuthenticated(EXPIRED, code="session_expired")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise NotAuthenticated(INACTIVE, code="account_inactive")
    return user, row


def needs_touch(row: UserSession, *, now: datetime) -> bool:
    """Whether the session's last-seen time is old enough to be written again."""
    return now - row.last_seen_at >= TOUCH_EVERY


def touch(session: Session, *, row: UserSession, settings: Settings, now: datetime) -> None:
    """Record a request on the session, pushing its idle expiry back (not past its lifetime)."""
    expires = _expiry(created=row.created_at, seen=now, settings=settings)
    session.execute(
        update(UserSession)
        .where(col(UserSession.id) == row.id, col(UserSession.ended_at).is_(None))
        .values(last_seen_at=now, expires_at=expires)
    )


def end(session: Session, *, session_id: int, now: datetime) -> None:
    """Sign out: the session can never be used again."""
    session.execute(
        update(UserSession)
        .where(col(UserSession.id) == session_id, col(UserSession.ended_at).is_(None))
        .values(ended_at=now)
    )
