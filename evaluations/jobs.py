"""Evaluations' scheduled work: whistles as the sweep's subject, and the evaluation periods'
job (open this month's, close those past their grace days)."""

import json
import logging
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import insert
from sqlalchemy.engine import Engine, Row
from sqlmodel import Session

from core.db import session_scope
from core.jobs import guarded
from core.timezone import SHANGHAI
from deadlines.sweep import STAGE_NAMES, Subject, Swept
from evaluations import service
from models import Whistle, WhistleEvent, utcnow

log = logging.getLogger("qisu.evaluations")
EVENTS = insert(WhistleEvent.__table__)  # type: ignore[attr-defined]


def _name(row: Row[Any]) -> str:
    return f"吹哨 {row.whistle_id} 中 {row.unit_code} 的{STAGE_NAMES[row.stage]}"


def _record(session: Session, swept: list[Swept]) -> None:
    """The sweep's events in the whistles' history: the called unit, the change as the note."""
    rows = [
        {
            "whistle_id": row.whistle_id,
            "at": event["at"],
            "actor_id": None,
            "actor_name": "system",
            "action": event["action"],
            "unit_code": row.unit_code,
            "note": json.dumps(event["after"], ensure_ascii=False),
        }
        for row, event in swept
    ]
    session.connection().execute(EVENTS, rows)


SUBJECT = Subject(
    column="whistle_id",
    key="whistles",
    table=Whistle.__table__,  # type: ignore[attr-defined]
    name=_name,
    record=_record,
)


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
