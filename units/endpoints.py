"""HTTP routes for the unit registry."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, StringConstraints

from accounts.dependencies import CurrentUser, require_roles
from core.db import SessionDep
from models import Role, UnitKind, User
from units import service
from units.schemas import UnitPublic

router = APIRouter(prefix="/api/v1/units", tags=["units"])


@router.get("", response_model=list[UnitPublic])
def list_units(
    session: SessionDep, _user: CurrentUser, kind: UnitKind | None = None, inactive: bool = False
) -> list[UnitPublic]:
    """The district's units, optionally of one kind."""
    units = service.list_units(session, kind=kind, include_inactive=inactive)
    return [UnitPublic.model_validate(unit, from_attributes=True) for unit in units]


admin_router = APIRouter(prefix="/api/v1/admin/units", tags=["units"])
Admin = Annotated[User, Depends(require_roles(Role.ADMIN))]


class RegistryIn(BaseModel):
    """A whole registry file's YAML text (the format of `qisu units load`)."""

    yaml: Annotated[str, StringConstraints(min_length=1, max_length=500_000)]


class LoadedOut(BaseModel):
    """How many units the file named; those it left out are retired."""

    units: int
    retired: list[str]


@admin_router.post("/load", response_model=LoadedOut)
def load_registry(body: RegistryIn, session: SessionDep, _user: Admin) -> LoadedOut:
    """Replace the registry: upsert its units, retire (never delete) the ones it leaves out."""
    before = {unit.code for unit in service.list_units(session)}
    count = service.load_registry_text(session, text=body.yaml)
    after = {unit.code for unit in service.list_units(session)}
    return LoadedOut(units=count, retired=sorted(before - after))
