"""Request and response shapes of sign-in."""

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from models import Role


class SignInIn(BaseModel):
    """A login and its password."""

    login: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    totp: Annotated[str | None, StringConstraints(max_length=16)] = Field(
        default=None, description="The authenticator's 6-digit code, once enrolled."
    )


class UnitBrief(BaseModel):
    """The unit a user acts for."""

    code: str
    name: str
    short_name: str
    kind: str


class Me(BaseModel):
    """Who is signed in."""

    id: int
    name: str
    login: str | None
    role: Role
    unit: UnitBrief | None
    second_factor: bool = Field(description="Whether sign-in asks for a TOTP code.")


class SessionOut(BaseModel):
    """A console session: who, the token state-changing requests must echo, the idle limit."""

    user: Me
    csrf_token: str
    idle_minutes: int


class TotpStart(BaseModel):
    """A pending second factor: the secret to type in, or the URI a QR code carries."""

    secret: str
    uri: str


class TotpConfirm(BaseModel):
    """The first code the authenticator shows."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=16)]
