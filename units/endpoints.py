"""HTTP routes for the unit registry."""

from fastapi import APIRouter

from accounts.dependencies import CurrentUser
from core.db import SessionDep
from models import UnitKind
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
