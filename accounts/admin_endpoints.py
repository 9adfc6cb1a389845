"""HTTP routes of user administration (administrators only)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlmodel import Session

from accounts import admin, tokens
from accounts.admin_schemas import (
    PasswordSet,
    RoleSet,
    TokenCreate,
    TokenIssued,
    TokenOut,
    UserAdmin,
    UserCreate,
    UserPage,
)
from accounts.dependencies import actor_of, require_roles
from core.db import SessionDep
from core.validation import Code, PageOffset, PageSize, PathId
from models import ApiToken, Role, User, id_of, utcnow

router = APIRouter(prefix="/api/v1/admin/users", tags=["admin"])
AdminUser = Annotated[User, Depends(require_roles())]

_NOT_FOUND = {404: {"description": "`not_found`: no such user (or token)."}}
_REFUSED = {409: {"description": "`own_account`: administrators do not change their own account."}}


def present(session: Session, users: list[User]) -> list[UserAdmin]:
    """Users as the administrator's listing shows them."""
    names = admin.unit_names(session, users)
    return [
        UserAdmin(
            id=id_of(u),
            name=u.name,
            login=u.login,
            role=u.role,
            unit_code=u.unit_code,
            unit_name=names.get(u.unit_code) if u.unit_code else None,
            active=u.active,
            created_at=u.created_at,
            last_sign_in_at=u.last_sign_in_at,
        )
        for u in users
    ]


def _one(session: Session, user: User) -> UserAdmin:
    return present(session, [user])[0]


def _token(row: ApiToken) -> TokenOut:
    now = utcnow()
    return TokenOut(
        id=id_of(row),
        name=row.name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        active=row.revoked_at is None and row.expires_at > now,
    )


@router.get("", response_model=UserPage)
def list_users(
    _admin: AdminUser,
    session: SessionDep,
    limit: PageSize = 50,
    offset: PageOffset = 0,
    role: Role | None = None,
    unit: Annotated[Code | None, Query(description="Unit code.")] = None,
    active: bool | None = None,
    q: Annotated[Code | None, Query(description="Part of the name or login.")] = None,
) -> UserPage:
    """Users, filtered by role, unit, whether active, and part of the name or login."""
    filters = admin.UserFilters(role=role, unit=unit, active=active, q=q)
    total, users = admin.search(session, filters=filters, limit=limit, offset=offset)
    return UserPage(count=total, limit=limit, offset=offset, items=present(session, users))


@router.post(
    "",
    response_model=UserAdmin,
    status_code=status.HTTP_201_CREATED,
)
def create_user(
    body: UserCreate, current: AdminUser, request: Request, session: SessionDep
) -> UserAdmin:
    """A new console user; 422 names a weak password or an unknown unit, nothing is written."""
    user, _token_value = admin.create(
        session,
        actor=actor_of(request, current),
        name=body.name,
        role=body.role,
        unit_code=body.unit_code,
        login=body.login,
        password=body.password,
    )
    return _one(session, user)


@router.post("/{user_id}/deactivate", response_model=UserAdmin)
def deactivate(
    user_id: PathId, current: AdminUser, request: Request, session: SessionDep
) -> UserAdmin:
    """Deactivate at once: the user's console sessions end and every token is revoked."""
    user = admin.deactivate(session, actor=actor_of(request, current), user_id=user_id)
    return _one(session, user)


@router.post("/{user_id}/reactivate", response_model=UserAdmin)
def reactivate(
    user_id: PathId, current: AdminUser, request: Request, session: SessionDep
) -> UserAdmin:
    """Let the user sign in again; tokens revoked by the deactivation stay revoked."""
    user = admin.reactivate(session, actor=actor_of(request, current), user_id=user_id)
    return _one(session, user)


@router.put("/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT)
def set_password(
    user_id: PathId, body: PasswordSet, current: AdminUser, request: Request, session: SessionDep
) -> Response:
    """A new console password (the rules: README, Accounts); the user's sessions end."""
    actor = actor_of(request, current)
    admin.set_password(session, actor=actor, user_id=user_id, password=body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{user_id}/role", response_model=UserAdmin)
def set_role(
    user_id: PathId, body: RoleSet, current: AdminUser, request: Request, session: SessionDep
) -> UserAdmin:
    """A new role and unit, in force from the user's next request."""
    user = admin.set_role(
        session,
        actor=actor_of(request, current),
        user_id=user_id,
        role=body.role,
        unit_code=body.unit_code,
    )
    return _one(session, user)


@router.delete("/{user_id}/totp", status_code=status.HTTP_204_NO_CONTENT)
def reset_totp(
    user_id: PathId, current: AdminUser, request: Request, session: SessionDep
) -> Response:
    """Remove the user's second factor (a lost phone): they enrol again after signing in."""
    admin.reset_totp(session, actor=actor_of(request, current), user_id=user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{user_id}/tokens", response_model=list[TokenOut])
def list_tokens(user_id: PathId, _admin: AdminUser, session: SessionDep) -> list[TokenOut]:
    """The user's bearer tokens, newest first, without their values."""
    admin.get(session, user_id=user_id)
    return [_token(row) for row in tokens.of_user(session, user_id=user_id)]


@router.post(
    "/{user_id}/tokens",
    response_model=TokenIssued,
    status_code=status.HTTP_201_CREATED,
)
def issue_token(
    user_id: PathId, body: TokenCreate, current: AdminUser, request: Request, session: SessionDep
) -> TokenIssued:
    """A new named token valid `days` days; its value is in this answer only."""
    row, value = admin.issue_token(
        session, actor=actor_of(request, current), user_id=user_id, name=body.name, days=body.days
    )
    return TokenIssued(**_token(row).model_dump(), token=value)


@router.delete("/{user_id}/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(
    user_id: PathId, token_id: PathId, current: AdminUser, request: Request, session: SessionDep
) -> Response:
    """Revoke a token: refused from the next request on, in every worker."""
    admin.revoke_token(
        session, actor=actor_of(request, current), user_id=user_id, token_id=token_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
