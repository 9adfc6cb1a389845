"""Creating users, and the rules of who may act for which unit."""

import secrets

from sqlmodel import Session, select

from accounts import passwords, tokens
from core.errors import Conflict, InvalidInput
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


def check_unit(session: Session, *, role: Role, unit_code: str | None) -> Unit | None:
    """The unit a user of this role acts for (None for roles that act for none), or a 422."""
    kinds = UNIT_ROLES.get(role)
    if kinds is None:
        if unit_code:
            raise InvalidInput(f"角色 {role} 不代表某个单位，请不要给出单位", field="unit_code")
        return None
    if not unit_code:
        raise InvalidInput(f"角色 {role} 须指明所代表的单位", field="unit_code")
    unit = session.get(Unit, unit_code)
    if unit is None or not unit.active:
        raise InvalidInput("没有这个代码的在用单位", field="unit_code")
    if unit.kind not in kinds:
        raise InvalidInput(f"角色 {role} 不能代表 {unit.kind} 类单位", field="unit_code")
    return unit


def create_user(
    session: Session,
    *,
    name: str,
    role: Role,
    unit_code: str | None = None,
    login: str | None = None,
    password: str | None = None,
    token_days: int = tokens.DEFAULT_DAYS,
) -> tuple[User, str]:
    """Create a user and return it with its first token, shown this once and never stored.

    A person also gets a login and a password for the console; a machine user needs neither.
    """
    name = name.strip()
    if not name:
        raise InvalidInput("用户须有名字", field="name")
    if session.exec(select(User).where(User.name == name)).first():
        raise Conflict("已有同名用户，请换一个名字", field="name", code="name_taken")
    if (login is None) != (password is None):
        raise InvalidInput("登录名和密码须同时给出", field="login" if login is None else "password")
    if login is not None and password is not None:
        login = passwords.check_login(login)
        passwords.check_password(password)
        if session.exec(select(User).where(User.login == login)).first():
            raise Conflict(f"登录名 {login} 已被占用，请换一个", field="login", code="login_taken")
    check_unit(session, role=role, unit_code=unit_code)
    user = User(
        name=name,
        role=role,
        unit_code=unit_code or None,
        token_hash=tokens.hash_token(secrets.token_urlsafe(32)),  # the legacy column: see User
        login=login,
        password_hash=passwords.hash_password(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    _, token = tokens.issue(session, user=user, name=tokens.FIRST_NAME, days=token_days)
    return user, token


def set_login(session: Session, *, user: User, login: str, password: str) -> None:
    """Give an existing user a login and a password (or a new password)."""
    login = passwords.check_login(login)
    passwords.check_password(password)
    taken = session.exec(select(User).where(User.login == login, User.id != user.id)).first()
    if taken is not None:
        raise Conflict(f"登录名 {login} 已被占用，请换一个", field="login", code="login_taken")
    user.login = login
    user.password_hash = passwords.hash_password(password)
    session.add(user)
    session.flush()
