"""FastAPI dependencies that identify the caller and check its role."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from accounts import service
from core.errors import Forbidden, NotAuthenticated
from models import Role, User

_bearer = HTTPBearer(auto_error=False, description="A token from `qisu users create`.")


def _look_up(engine: Engine, token: str) -> User | None:
    with Session(engine) as session:
        return service.user_for_token(session, token=token)


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The user behind the request's bearer token; 401 without a valid one."""
    if credentials is None:
        raise NotAuthenticated("send an Authorization: Bearer <token> header")
    token = credentials.credentials
    # A known token costs no thread and no query; an unknown one is looked up off the loop.
    user = service.cached_user(token) or await run_in_threadpool(
        _look_up, request.app.state.engine, token
    )
    if user is None:
        raise NotAuthenticated("the bearer token is not valid")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets only the given roles (and admins) through."""
    allowed = {*roles, Role.ADMIN}

    # async: a pure check needs no trip to the thread pool.
    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise Forbidden(f"this needs one of the roles {names}; you are {user.role}")
        return user

    return check
