"""FastAPI dependencies that identify the caller (bearer token or session cookie) and its role."""

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from accounts import sessions, tokens
from accounts.audit import Actor, record
from core.addresses import client_address
from core.config import Settings
from core.db import session_scope
from core.errors import Forbidden, NotAuthenticated
from models import AuditAction, Role, User, UserSession, utcnow

SESSION_COOKIE = "qisu_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FAILED = "安全校验失败（页面可能已过期），请刷新页面后重试"

ROLE_NAMES: dict[Role, str] = {
    Role.OPERATOR: "话务员",
    Role.UNIT_HANDLER: "承办单位经办人",
    Role.SUBDISTRICT: "街镇经办人",
    Role.SUPERVISOR: "督办人员",
    Role.ADMIN: "管理员",
    Role.AUDITOR: "审计员",
}
# Where the request guard leaves the user it looked the bearer token up for (one query).
SCOPE_USER = "qisu.user"
AUDITOR_ONLY = "审计员只能查阅安全审计日志"

_bearer = HTTPBearer(auto_error=False, description="A token from `qisu users create`.")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The console's session (POST /session)."
)


@dataclass(frozen=True)
class Caller:
    """Who is calling, and the console session they call through (None for a bearer token)."""

    user: User
    session: UserSession | None


def look_up(engine: Engine, token: str) -> User | None:
    """The active user holding this live bearer token, if any."""
    with Session(engine) as session:
        return tokens.user_for_token(session, token=token)


def _resume(engine: Engine, settings: Settings, token: str, csrf: str | None) -> Caller:
    """The cookie's session; `csrf` is the header sent with a request that changes things."""
    # Sessions are never cached: a signed-out or expired session is refused on its next request.
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        user, row = sessions.resume(session, token=token, now=now)
        session.expunge_all()
    # SameSite=Strict already keeps other sites' requests cookie-less; the token is the second
    # lock (older browsers, same-site subdomains). Checked before anything is written.
    if csrf is not None and not secrets.compare_digest(csrf.encode(), row.csrf_token.encode()):
        raise Forbidden(CSRF_FAILED, code="csrf_failed")
    if sessions.needs_touch(row, now=now):
        with session_scope(engine, write=True) as session:
            sessions.touch(session, row=row, settings=settings, now=now)
    return Caller(user=user, session=row)


async def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Caller:
    """The caller: a bearer token as before, or else the console's session cookie."""
    if credentials is not None:
        # The guard looked the token up already; a route outside it (none today) looks it up.
        user = request.scope.get(SCOPE_USER) or await run_in_threadpool(
            look_up, request.app.state.engine, credentials.credentials
        )
        if user is None:
            raise NotAuthenticated("令牌无效、已过期或已吊销，请检查 Authorization 请求头")
        request.scope[SCOPE_USER] = user
        return Caller(user=user, session=None)
    if not cookie:
        raise NotAuthenticated(sessions.SIGN_IN_FIRST)
    csrf = None if request.method in SAFE_METHODS else request.headers.get(CSRF_HEADER, "")
    caller = await run_in_threadpool(
        _resume, request.app.state.engine, request.app.state.settings, cookie, csrf
    )
    request.scope[SCOPE_USER] = caller.user  # for the audit record of a refusal
    return caller


CurrentCaller = Annotated[Caller, Depends(current_caller)]


async def current_user(caller: CurrentCaller) -> User:
    """The user behind the request's bearer token or session; 401 without a valid one.

    An auditor is refused here: they read the audit log (through `current_auditor`) and
    nothing else, 等保's separation of duties.
    """
    if caller.user.role == Role.AUDITOR:
        raise Forbidden(AUDITOR_ONLY)
    return caller.user


CurrentUser = Annotated[User, Depends(current_user)]


async def current_auditor(caller: CurrentCaller) -> User:
    """The auditor behind the request; everyone else, administrators included, is refused."""
    if caller.user.role != Role.AUDITOR:
        raise Forbidden(f"安全审计日志只供审计员查阅；您的角色是{ROLE_NAMES[caller.user.role]}")
    return caller.user


CurrentAuditor = Annotated[User, Depends(current_auditor)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets only the given roles (and admins) through."""
    allowed = {*roles, Role.ADMIN}

    # async: a pure check needs no trip to the thread pool.
    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = "、".join(ROLE_NAMES[r] for r in sorted(allowed))
            raise Forbidden(f"此操作需要以下角色之一：{names}；您的角色是{ROLE_NAMES[user.role]}")
        return user

    return check


def address_of(request: Request) -> str:
    """Where the request came from; X-Forwarded-For counts only from QISU_TRUSTED_PROXIES."""
    return client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        request.app.state.settings.trusted_proxies,
    )


def actor_of(request: Request, user: User) -> Actor:
    """The audit log's actor for a signed-in user's request."""
    return Actor.of(user, address_of(request))


def audit_read(request: Request, user: User, action: AuditAction, **what: str | None) -> None:
    """Record a read (an export, a view of personal data) in a write transaction of its own.

    A GET's session only reads; the record must not wait on, or be lost with, the request's.
    """
    record(request.app.state.engine, actor=actor_of(request, user), action=action, **what)
