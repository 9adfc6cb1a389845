"""FastAPI dependencies that identify the caller and check its role."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from accounts import service
from core.db import SessionDep
from core.errors import Forbidden, NotAuthenticated
from models import Role, User

_bearer = HTTPBearer(auto_error=False, description="A token from `qisu users create`.")


def current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The user behind the request's bearer token; 401 without a valid one."""
    if credentials is None:
        raise NotAuthenticated("send an Authorization: Bearer <token> header")
    user = service.user_for_token(session, token=credentials.credentials)
    if user is None:
        raise NotAuthenticated("the bearer token is not valid")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency that lets only the given roles (and admins) through."""
    allowed = {*roles, Role.ADMIN}

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise Forbidden(f"this needs one of the roles {names}; you are {user.role}")
        return user

    return check
