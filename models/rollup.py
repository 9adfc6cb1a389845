"""The dashboard's daily roll-up: each complete Shanghai day's additive counts, kept fresh."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import AwareDateTime


class RollupCount(SQLModel, table=True):
    """One count of one measure on one day (tickets.measures defines every measure)."""

    __tablename__ = "dashboard_rollup"

    day: str = Field(primary_key=True, max_length=10)  # YYYY-MM-DD in Shanghai
    measure: str = Field(primary_key=True, max_length=24)
    unit_code: str = Field(primary_key=True, max_length=64, default="")
    key: str = Field(primary_key=True, max_length=40, default="")
    # A ticket counted per ticket (a unit led it more than once): counted once over a span.
    ticket_id: int = Field(primary_key=True, default=0)
    n: int


class RollupDay(SQLModel, table=True):
    """A day whose counts are rolled up, and when they were last computed."""

    __tablename__ = "dashboard_rollup_day"

    day: str = Field(primary_key=True, max_length=10)
    rolled_at: datetime = Field(sa_type=AwareDateTime)


class RollupState(SQLModel, table=True):
    """Every rolled day was exact at `clean_as_of`; later changes show in ticket events."""

    __tablename__ = "dashboard_rollup_state"

    id: int = Field(default=1, primary_key=True)
    clean_as_of: datetime = Field(sa_type=AwareDateTime)
