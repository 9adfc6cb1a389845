"""The evaluation periods' scheduled job, as the scheduler runs it."""

import logging
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.scheduler import build_scheduler
from core.config import Settings
from core.db import session_scope
from core.timezone import SHANGHAI
from deadlines.policy import load_policy
from evaluations import service
from integrations.settings import IntegrationSettings
from models import EvaluationPeriod, PeriodStatus, utcnow
from routing.model import ServingModel
from routing.settings import RoutingSettings


def test_the_hourly_job_opens_this_month_and_closes_last_month_after_its_grace_days(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="qisu.evaluations")
    today = utcnow().astimezone(SHANGHAI).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    with session_scope(engine, write=True) as session:
        service.open_period(session, period=last_month)
    scheduler = build_scheduler(
        engine,
        settings,
        load_policy(),
        RoutingSettings(),
        IntegrationSettings(),
        {},
        ServingModel(None),
        blocking=False,
    )
    job = scheduler.get_job("evaluation-periods")
    assert job is not None and job.trigger.interval == timedelta(hours=1)
    job.func()  # one run, as the scheduler makes it
    with session_scope(engine) as session:
        periods = {p.period: p.status for p in session.exec(select(EvaluationPeriod))}
    grace_over = today.day > settings.evaluation_grace_days
    assert periods[today.strftime("%Y-%m")] == PeriodStatus.OPEN
    assert periods[last_month] == (PeriodStatus.CLOSED if grace_over else PeriodStatus.OPEN)
    assert "评价周期：开启" in caplog.text
    job.func()  # again: nothing left to do, nothing changes
    with session_scope(engine) as session:
        again = {p.period: p.status for p in session.exec(select(EvaluationPeriod))}
    assert again == periods
