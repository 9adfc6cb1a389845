"""Request and response shapes of sign-in."""

from typing import Annotated

from pydantic import BaseModel, StringConstraints

from models import Role


class SignInIn(BaseModel):
    """A login and its password."""

    login: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


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


class SessionOut(BaseModel):
    """A console session: who, the token state-changing requests must echo, the idle limit."""

    user: Me
    csrf_token: str
    idle_minutes: int
