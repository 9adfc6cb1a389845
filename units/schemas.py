"""Shapes of units in registry files and in the API."""

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models import UnitKind


class UnitIn(BaseModel):
    """One unit as a registry file gives it."""

    model_config = ConfigDict(extra="ignore")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=128)
    short_name: str | None = Field(default=None, max_length=64)
    kind: UnitKind
    duties: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)


class RegistryFile(BaseModel):
    """A district's whole registry."""

    district: str | None = None
    units: list[UnitIn] = Field(min_length=1)

    @field_validator("units")
    @classmethod
    def codes_unique(cls, units: list[UnitIn]) -> list[UnitIn]:
        """Refuse a registry that names one code twice."""
        seen: set[str] = set()
        for unit in units:
            if unit.code in seen:
                raise ValueError(f"unit code {unit.code!r} appears twice")
            seen.add(unit.code)
        return units


class UnitPublic(BaseModel):
    """A unit as the API shows it."""

    code: str
    name: str
    short_name: str
    kind: UnitKind
    duties: list[str]
    active: bool
