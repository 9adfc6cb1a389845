"""The units that appeals are dispatched to."""

from enum import StrEnum

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.base import EnumString


class UnitKind(StrEnum):
    """What sort of authority a unit holds."""

    LINE = "line"
    UTILITY = "utility"
    SUBDISTRICT = "subdistrict"
    COORDINATOR = "coordinator"


# Who may lead a matter by its authority: routing, returns and Open311's services offer these.
AUTHORITY_HOLDERS = frozenset({UnitKind.LINE, UnitKind.UTILITY, UnitKind.COORDINATOR})
# The 职能部门 that 街镇 whistle at and evaluate, and rankings publish (items 51, 56): line only.
EVALUATED_KINDS = frozenset({UnitKind.LINE})


class Unit(SQLModel, table=True):
    """A line department, utility, 街镇 or coordinating body of the district."""

    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=128)
    short_name: str = Field(max_length=64)
    kind: UnitKind = Field(sa_type=EnumString(UnitKind, 16), index=True)
    duties: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Other names people use for it (市监局, 人社局 …): a 街镇's return reason may name it so.
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=True))
    active: bool = True
