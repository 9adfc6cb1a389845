"""The evaluation periods' scheduled job: open this month's, close those past their grace days."""

import logging
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.engine import Engine

from core.db import session_scope
from core.jobs import guarded
from core.timezone import SHANGHAI
from evaluations import service
from models import utcnow

log = logging.getLogger("qisu.evaluations")


def roll_periods(engine: Engine, *, grace_days: int) -> None:
    """Open this month's evaluation period and close the ones past their grace days."""
    today = utcnow().astimezone(SHANGHAI).date()
    with session_scope(engine, write=True) as session:
        opened, closed = service.roll_periods(session, today=today, grace_days=grace_days)
    if opened or closed:
        log.info("评价周期：开启 %s，关闭 %s", opened or "无", "、".join(closed) or "无")


def add_jobs(
    scheduler: BaseScheduler, engine: Engine, *, grace_days: int, options: dict[str, Any]
) -> None:
    """Roll the periods hourly: a month turns over at midnight Shanghai, its grace days later."""
    scheduler.add_job(
        guarded("评价周期", lambda: roll_periods(engine, grace_days=grace_days), log),
        "interval",
        hours=1,
        id="evaluation-periods",
        **options,
    )
