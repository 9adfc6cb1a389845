"""User administration: list, create, deactivate, reactivate, passwords, roles, tokens.

The admin API and `qisu users` both call these; each change is written to the audit log in
the same transaction, so a change and its record are stored together or not at all.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from accounts import passwords, service, sessions, tokens, totp
from accounts.audit import Actor, append
from core.errors import Conflict, InvalidInput, NotFound
from models import ApiToken, AuditAction, LoginFailure, Role, Unit, User, id_of, utcnow


@dataclass(frozen=True)
class UserFilters:
    """What an administrator looks for; every part optional."""

    role: Role | None = None
    unit: str | None = None
    active: bool | None = None
    q: str | None = None  # part of the name or the login


def unit_names(session: Session, users: list[User]) -> dict[str, str]:
    """The names of the units these users act for."""
    codes = {u.unit_code for u in users if u.unit_code}
    if not codes:
        return {}
    query = select(Unit.code, Unit.name).where(col(Unit.code).in_(codes))
    return dict(session.exec(query).all())


def search(
    session: Session, *, filters: UserFilters, limit: int, offset: int
) -> tuple[int, list[User]]:
    """How many users match, and one page of them by id."""
    conditions: list[ColumnElement[bool]] = []
    if filters.role is not None:
        conditions.append(col(User.role) == filters.role)
    if filters.unit:
        conditions.append(col(User.unit_code) == filters.unit)
    if filters.active is not None:
        conditions.append(col(User.active).is_(filters.active))
    if filters.q:
        pattern = (
            "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        conditions.append(
            or_(
                col(User.name).like(pattern, escape="\\"),
                col(User.login).like(pattern.lower(), escape="\\"),
            )
        )
    total = session.exec(select(func.count()).select_from(User).where(*conditions)).one()
    query = select(User).where(*conditions).order_by(col(User.id))
    return int(total), list(session.exec(query.offset(offset).limit(limit)))


def get(session: Session, *, user_id: int) -> User:
    """The user, or a 404."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("没有这个用户")
    return user


def find(session: Session, *, who: str) -> User:
    """The user named by an id, a login or a name (the command line's way), or a 404."""
    user = session.get(User, int(who)) if who.isdigit() and len(who) < 10 else None
    user = (
        user
        or session.exec(select(User).where(User.login == passwords.normalize_login(who))).first()
    )
    user = user or session.exec(select(User).where(User.name == who.strip())).first()
    if user is None:
        raise NotFound(f"没有 id、登录名或名字为 {who[:64]} 的用户")
    return user


def create(
    session: Session,
    *,
    actor: Actor,
    name: str,
    role: Role,
    unit_code: str | None,
    login: str | None,
    password: str | None,
) -> tuple[User, str]:
    """Create a user (with its first token, shown once) and record who created it."""
    user, token = service.create_user(
        session, name=name, role=role, unit_code=unit_code, login=login, password=password
    )
    append(
        session,
        actor=actor,
        action=AuditAction.USER_CREATE,
        target=f"user:{user.id}",
        detail=f"role={user.role} unit={user.unit_code or '-'} login={user.login or '-'}",
    )
    return user, token


def _not_self(actor: Actor, user: User, what: str) -> None:
    # An administrator who locks themselves out needs another to let them in again.
    if actor.id is not None and actor.id == user.id:
        raise Conflict(f"不能{what}自己的账户，请由另一位管理员操作", code="own_account")


def deactivate(session: Session, *, actor: Actor, user_id: int) -> User:
    """Deactivate at once: its console sessions end and its tokens are revoked."""
    user = get(session, user_id=user_id)
    _not_self(actor, user, "停用")
    now = utcnow()
    ended = sessions.end_all(session, user_id=id_of(user), now=now)
    revoked = tokens.revoke_all(session, user_id=id_of(user), now=now)
    user.active = False
    session.add(user)
    session.flush()
    append(
        session,
        actor=actor,
        action=AuditAction.USER_DEACTIVATE,
        target=f"user:{user.id}",
        detail=f"sessions_ended={ended} tokens_revoked={revoked}",
    )
    return user


def reactivate(session: Session, *, actor: Actor, user_id: int) -> User:
    """Let a deactivated user sign in again (its old tokens stay revoked)."""
    user = get(session, user_id=user_id)
    user.active = True
    session.add(user)
    session.flush()
    append(session, actor=actor, action=AuditAction.USER_REACTIVATE, target=f"user:{user.id}")
    return user


def set_password(session: Session, *, actor: Actor, user_id: int, password: str) -> User:
    """A new console password: the user's sessions end and a lockout is lifted."""
    user = get(session, user_id=user_id)
    if user.login is None:
        raise InvalidInput("该用户没有控制台登录名（程序用户只用令牌）", field="password")
    passwords.check_password(password)
    user.password_hash = passwords.hash_password(password)
    session.add(user)
    failure = session.get(LoginFailure, user.login)
    if failure is not None:
        session.delete(failure)
    ended = sessions.end_all(session, user_id=id_of(user), now=utcnow())
    session.flush()
    append(
        session,
        actor=actor,
        action=AuditAction.USER_PASSWORD,
        target=f"user:{user.id}",
        detail=f"sessions_ended={ended}",
    )
    return user


def set_role(
    session: Session, *, actor: Actor, user_id: int, role: Role, unit_code: str | None
) -> User:
    """A new role (and unit): it holds from the user's next request on."""
    user = get(session, user_id=user_id)
    _not_self(actor, user, "更改")
    service.check_unit(session, role=role, unit_code=unit_code)
    before = f"{user.role}/{user.unit_code or '-'}"
    user.role, user.unit_code = role, unit_code or None
    if role not in TOTP_ROLES:
        user.totp_secret = user.totp_pending = None
    session.add(user)
    session.flush()
    append(
        session,
        actor=actor,
        action=AuditAction.USER_ROLE,
        target=f"user:{user.id}",
        detail=f"{before} -> {role}/{unit_code or '-'}",
    )
    return user


def issue_token(
    session: Session, *, actor: Actor, user_id: int, name: str, days: int
) -> tuple[ApiToken, str]:
    """A new named token for the user, valid `days` days; shown once."""
    user = get(session, user_id=user_id)
    if not user.active:
        raise Conflict("账户已停用，不能发放令牌；请先启用", code="account_inactive")
    row, token = tokens.issue(session, user=user, name=name, days=days)
    append(
        session,
        actor=actor,
        action=AuditAction.TOKEN_ISSUE,
        target=f"user:{user.id}",
        detail=f"token={row.id} name={row.name} days={days}",
    )
    return row, token


def revoke_token(session: Session, *, actor: Actor, user_id: int, token_id: int) -> ApiToken:
    """Revoke one token of the user."""
    get(session, user_id=user_id)
    row = tokens.revoke(session, user_id=user_id, token_id=token_id, now=utcnow())
    append(
        session,
        actor=actor,
        action=AuditAction.TOKEN_REVOKE,
        target=f"user:{user_id}",
        detail=f"token={row.id} name={row.name}",
    )
    return row


def rotate_token(
    session: Session, *, actor: Actor, user_id: int, name: str, days: int
) -> tuple[ApiToken, str, int]:
    """Revoke every live token of the user and issue one new one; how many were revoked."""
    user = get(session, user_id=user_id)
    revoked = tokens.revoke_all(session, user_id=id_of(user), now=utcnow())
    row, token = issue_token(session, actor=actor, user_id=user_id, name=name, days=days)
    return row, token, revoked


# Roles that may protect their console sign-in with a second factor (等保: privileged users).
TOTP_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR})


def start_totp(session: Session, *, user: User) -> str:
    """A new pending secret for the user's authenticator; it holds once a code confirms it."""
    if user.role not in TOTP_ROLES:
        raise Conflict("动态口令仅适用于督办人员、管理员和审计员", code="totp_not_available")
    user.totp_pending = totp.new_secret()
    session.add(user)
    session.flush()
    return user.totp_pending


def confirm_totp(session: Session, *, actor: Actor, user: User, code: str, now: datetime) -> None:
    """Turn the pending secret on, once the authenticator shows a code of it."""
    if user.totp_pending is None:
        raise Conflict("请先开始绑定身份验证器", code="totp_not_started")
    used = totp.matching_step(user.totp_pending, code, now)
    if used is None:
        raise InvalidInput("动态口令不对，请核对验证器上当前的口令", field="code")
    user.totp_secret, user.totp_pending, user.totp_last_step = user.totp_pending, None, used
    session.add(user)
    session.flush()
    append(session, actor=actor, action=AuditAction.TOTP_ENROL, target=f"user:{user.id}")


def reset_totp(session: Session, *, actor: Actor, user_id: int) -> User:
    """Remove a user's second factor (a lost phone); they sign in with the password alone."""
    user = get(session, user_id=user_id)
    user.totp_secret = user.totp_pending = user.totp_last_step = None
    session.add(user)
    session.flush()
    append(session, actor=actor, action=AuditAction.TOTP_RESET, target=f"user:{user.id}")
    return user
