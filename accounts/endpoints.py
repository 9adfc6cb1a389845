"""HTTP routes of console sign-in: open, read and end a session."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from sqlmodel import Session

from accounts import sessions
from accounts.dependencies import SESSION_COOKIE, Caller, CurrentCaller
from accounts.schemas import Me, SessionOut, SignInIn, UnitBrief
from core.addresses import client_address
from core.config import Settings
from core.db import SessionDep
from core.errors import DomainError, NotAuthenticated
from models import Unit, User, utcnow

router = APIRouter(prefix="/api/v1", tags=["accounts"])


async def _console_caller(caller: CurrentCaller) -> Caller:
    if caller.session is None:  # a bearer token has no console session to show or end
        raise NotAuthenticated(sessions.SIGN_IN_FIRST)
    return caller


ConsoleCaller = Annotated[Caller, Depends(_console_caller)]


def _me(session: Session, user: User) -> Me:
    unit = session.get(Unit, user.unit_code) if user.unit_code else None
    return Me(
        id=user.id or 0,
        name=user.name,
        login=user.login,
        role=user.role,
        unit=UnitBrief(code=unit.code, name=unit.name, short_name=unit.short_name, kind=unit.kind)
        if unit
        else None,
    )


@router.post(
    "/session",
    response_model=SessionOut,
    responses={
        401: {"description": "`bad_credentials`: unknown login or wrong password."},
        403: {"description": "`account_inactive`."},
        423: {"description": "`account_locked`: too many wrong passwords."},
    },
)
def sign_in(
    body: SignInIn, request: Request, response: Response, session: SessionDep
) -> SessionOut:
    """Sign in with a login and a password: sets the HttpOnly session cookie."""
    settings: Settings = request.app.state.settings
    try:
        user, row, token = sessions.sign_in(
            session,
            login=body.login,
            password=body.password,
            settings=settings,
            now=utcnow(),
            user_agent=request.headers.get("user-agent"),
            address=client_address(
                request.client.host if request.client else None,
                request.headers.get("x-forwarded-for"),
                settings.trusted_proxies,
            ),
        )
    except DomainError:
        session.commit()  # a wrong password is counted even though the request is refused
        raise
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.session_secure_cookie,
        path="/",
    )
    return SessionOut(
        user=_me(session, user),
        csrf_token=row.csrf_token,
        idle_minutes=settings.session_idle_minutes,
    )


@router.get("/session", response_model=SessionOut)
def read_session(caller: ConsoleCaller, request: Request, session: SessionDep) -> SessionOut:
    """Who is signed in on this console session, and its CSRF token."""
    assert caller.session is not None
    return SessionOut(
        user=_me(session, caller.user),
        csrf_token=caller.session.csrf_token,
        idle_minutes=request.app.state.settings.session_idle_minutes,
    )


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(caller: ConsoleCaller, request: Request, session: SessionDep) -> Response:
    """Sign out: the session ends and its cookie is cleared."""
    assert caller.session is not None
    sessions.end(session, session_id=caller.session.id or 0, now=utcnow())
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.session_secure_cookie,
    )
    return response
