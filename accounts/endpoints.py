"""HTTP routes of console sign-in: open, read and end a session."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from sqlmodel import Session

from accounts import admin, sessions, totp
from accounts.audit import Actor, append
from accounts.dependencies import SESSION_COOKIE, Caller, CurrentCaller, actor_of, address_of
from accounts.schemas import Me, SessionOut, SignInIn, TotpConfirm, TotpStart, UnitBrief
from core.config import Settings
from core.db import SessionDep
from core.errors import DomainError, NotAuthenticated
from models import AuditAction, AuditOutcome, Unit, User, id_of, utcnow

router = APIRouter(prefix="/api/v1", tags=["accounts"])


async def _console_caller(caller: CurrentCaller) -> Caller:
    if caller.session is None:  # a bearer token has no console session to show or end
        raise NotAuthenticated(sessions.SIGN_IN_FIRST)
    return caller


ConsoleCaller = Annotated[Caller, Depends(_console_caller)]


def _me(session: Session, user: User) -> Me:
    unit = session.get(Unit, user.unit_code) if user.unit_code else None
    return Me(
        id=id_of(user),
        name=user.name,
        login=user.login,
        role=user.role,
        unit=UnitBrief(code=unit.code, name=unit.name, short_name=unit.short_name, kind=unit.kind)
        if unit
        else None,
        second_factor=user.totp_secret is not None,
    )


@router.post(
    "/session",
    response_model=SessionOut,
    responses={
        401: {
            "description": "`bad_credentials`: unknown login or wrong password; "
            "`totp_required` / `bad_totp`: the second factor is missing or wrong."
        },
        403: {"description": "`account_inactive`."},
        423: {"description": "`account_locked`: too many wrong passwords."},
    },
)
def sign_in(
    body: SignInIn, request: Request, response: Response, session: SessionDep
) -> SessionOut:
    """Sign in with a login and a password: sets the HttpOnly session cookie."""
    settings: Settings = request.app.state.settings
    address = address_of(request)
    try:
        user, row, token = sessions.sign_in(
            session,
            login=body.login,
            password=body.password,
            settings=settings,
            now=utcnow(),
            user_agent=request.headers.get("user-agent"),
            address=address,
            totp_code=body.totp,
        )
    except DomainError as refusal:
        # The attempted login names the actor: the record is of who tried, not who is.
        tried = Actor(name=f"login:{body.login.strip()[:64]}", address=address)
        append(session, actor=tried, action=AuditAction.SIGN_IN, outcome=AuditOutcome.FAILURE,
               detail=refusal.code)  # fmt: skip
        session.commit()  # a wrong password is counted even though the request is refused
        raise
    append(session, actor=Actor.of(user, address), action=AuditAction.SIGN_IN,
           target=f"session:{row.id}")  # fmt: skip
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
    sessions.end(session, session_id=id_of(caller.session), now=utcnow())
    append(session, actor=actor_of(request, caller.user), action=AuditAction.SIGN_OUT,
           target=f"session:{caller.session.id}")  # fmt: skip
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.session_secure_cookie,
    )
    return response


@router.post("/session/totp", response_model=TotpStart)
def start_totp(caller: ConsoleCaller, session: SessionDep) -> TotpStart:
    """Begin enrolling an authenticator (supervisors, administrators, auditors): its secret."""
    user = session.get(User, caller.user.id)
    assert user is not None
    secret = admin.start_totp(session, user=user)
    return TotpStart(secret=secret, uri=totp.provisioning_uri(secret, user.login or user.name))


@router.post("/session/totp/confirm", status_code=status.HTTP_204_NO_CONTENT)
def confirm_totp(
    body: TotpConfirm, caller: ConsoleCaller, request: Request, session: SessionDep
) -> Response:
    """Turn the second factor on with the authenticator's first code; later sign-ins ask for it."""
    user = session.get(User, caller.user.id)
    assert user is not None
    admin.confirm_totp(
        session, actor=actor_of(request, user), user=user, code=body.code, now=utcnow()
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
