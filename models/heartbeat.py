"""When each scheduler job last ran: the scheduler's heartbeat, read by /readyz."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import AwareDateTime


class SchedulerHeartbeat(SQLModel, table=True):
    """One row per scheduler job, rewritten at every run."""

    __tablename__ = "scheduler_heartbeat"

    job: str = Field(primary_key=True, max_length=32)
    at: datetime = Field(sa_type=AwareDateTime)
    seconds: float = 0.0
