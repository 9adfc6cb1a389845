"""Creating users and recognising them by their bearer token."""

import hashlib
import secrets
import time

from sqlmodel import Session, select

from accounts import passwords
from core.errors import InvalidInput
from models import Role, Unit, UnitKind, User

# Roles that act for one unit, and the kinds of unit each may act for.
UNIT_ROLES: dict[Role, set[UnitKind]] = {
    Role.UNIT_HANDLER: {
        UnitKind.LINE,
        UnitKind.UTILITY,
        UnitKind.SUBDISTRICT,
        UnitKind.COORDINATOR,
    },
    Role.SUBDISTRICT: {UnitKind.SUBDISTRICT},
}


def hash_token(token: str) -> str:
    """The stored form of a token (tokens are random, so a fast hash suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    name: str,
    role: Role,
    unit_code: str | None = None,
    login: str | None = None,
    password: str | None = None,
) -> tuple[User, str]:
    """Create a user and return it with its token, which is shown this once and never stored.

    A person also gets a login and a password for the console; a machine user needs neither.
    """
    name = name.strip()
    if not name:
        raise InvalidInput("用户须有名字", field="name")
    if session.exec(select(User).where(User.name == name)).first():
        raise InvalidInput(f"已有名为 {name} 的用户，请换一个名字", field="name")
    if (login is None) != (password is None):
        raise InvalidInput("登录名和密码须同时给出", field="login" if login is None else "password")
    if login is not None and password is not None:
        login = passwords.check_login(login)
        passwords.check_password(password)
        if session.exec(select(User).where(User.login == login)).first():
            raise InvalidInput(f"登录名 {login} 已被占用，请换一个", field="login")
    kinds = UNIT_ROLES.get(role)
    if kinds is None and unit_code:
        raise InvalidInput(f"角色 {role} 不代表某个单位，请不要给出 --unit", field="unit")
    if kinds is not None:
        if not unit_code:
            raise InvalidInput(f"角色 {role} 须指明所代表的单位（--unit）", field="unit")
        unit = session.get(Unit, unit_code)
        if unit is None or not unit.active:
            raise InvalidInput(f"没有代码为 {unit_code} 的在用单位", field="unit")
        if unit.kind not in kinds:
            raise InvalidInput(f"角色 {role} 不能代表 {unit.kind} 类单位", field="unit")
    token = secrets.token_urlsafe(32)
    user = User(
        name=name,
        role=role,
        unit_code=unit_code,
        token_hash=hash_token(token),
        login=login,
        password_hash=passwords.hash_password(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    return user, token


def set_login(session: Session, *, user: User, login: str, password: str) -> None:
    """Give an existing user a login and a password (or a new password)."""
    login = passwords.check_login(login)
    passwords.check_password(password)
    taken = session.exec(select(User).where(User.login == login, User.id != user.id)).first()
    if taken is not None:
        raise InvalidInput(f"登录名 {login} 已被占用，请换一个", field="login")
    user.login = login
    user.password_hash = passwords.hash_password(password)
    session.add(user)
    session.flush()


# Recently seen tokens, so that a busy client is not looked up on every request. An entry
# lives TOKEN_CACHE_SECONDS: a user deactivated in the database loses access within that time.
TOKEN_CACHE_SECONDS = 30.0
_TOKEN_CACHE_SIZE = 10_000
_recent: dict[str, tuple[float, User]] = {}


def cached_user(token: str) -> User | None:
    """The user behind a token seen within the last TOKEN_CACHE_SECONDS, if any."""
    cached = _recent.get(hash_token(token))
    return cached[1] if cached is not None and cached[0] > time.monotonic() else None


def user_for_token(session: Session, *, token: str) -> User | None:
    """The active user holding this token, if any (and remember it for a while)."""
    digest = hash_token(token)
    user = session.exec(select(User).where(User.token_hash == digest)).first()
    if user is None or not user.active:
        _recent.pop(digest, None)
        return None
    if len(_recent) >= _TOKEN_CACHE_SIZE:
        _recent.clear()
    session.expunge(user)  # shared across requests, so it must belong to no session
    _recent[digest] = (time.monotonic() + TOKEN_CACHE_SECONDS, user)
    return user
