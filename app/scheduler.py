"""The scheduler: deadline sweeps and outbox delivery, in `qisu serve` or its own process."""

import logging
import time
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from core.config import Settings
from core.db import session_scope
from core.jobs import guarded
from deadlines import clocks
from deadlines import sweep as deadline_sweep
from deadlines.policy import SlaPolicy
from deadlines.sweep import SweepResult
from evaluations import jobs as evaluation_jobs
from integrations.notifiers import LogNotifier, Notifier, WebhookNotifier
from integrations.settings import IntegrationSettings
from models import SchedulerHeartbeat, utcnow
from routing.model import ServingModel
from routing.settings import RoutingSettings
from tickets import jobs, platform_jobs, rollup
from tickets.connectors import Connectors

log = logging.getLogger("qisu.scheduler")


def notifiers_for(policy: SlaPolicy) -> list[Notifier]:
    """The log always; webhooks where the policy configures them."""
    found: list[Notifier] = [LogNotifier()]
    if policy.webhooks:
        found.append(WebhookNotifier(policy.webhooks))
    return found


def recompute_fallbacks(engine: Engine, policy: SlaPolicy) -> int:
    """Recount deadlines that were counted Monday–Friday, with the calendar as now configured."""
    with session_scope(engine, write=True) as session:
        return clocks.recompute_fallbacks(session, policy=policy)


SWEEP_JOB = "sla-sweep"
# Everything a deadline may time: each domain says how the sweep escalates and records its own.
SUBJECTS = (jobs.SUBJECT, evaluation_jobs.SUBJECT)


def sweep(engine: Engine, *, policy: SlaPolicy, now: datetime, **options: Any) -> SweepResult:
    """One sweep over the deadlines of tickets and whistles (options: `deadlines.sweep.sweep`)."""
    return deadline_sweep.sweep(engine, policy=policy, subjects=SUBJECTS, now=now, **options)


def sweep_and_beat(engine: Engine, policy: SlaPolicy) -> None:
    """One sweep, then the heartbeat that /readyz shows (so a stuck scheduler is visible)."""
    now, started = utcnow(), time.monotonic()
    sweep(engine, policy=policy, now=now)
    with session_scope(engine, write=True) as session:
        beat = session.get(SchedulerHeartbeat, SWEEP_JOB) or SchedulerHeartbeat(
            job=SWEEP_JOB, at=now
        )
        beat.at, beat.seconds = now, time.monotonic() - started
        session.add(beat)


def build_scheduler(
    engine: Engine,
    settings: Settings,
    policy: SlaPolicy,
    routing: RoutingSettings,
    integrations: IntegrationSettings,
    connectors: Connectors,
    serving: ServingModel,
    *,
    blocking: bool,
) -> BaseScheduler:
    """A scheduler with the sweep, delivery and roll-up jobs, each never overlapping itself;
    its jobs run with the configuration given, read once by the caller."""
    scheduler: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler()
    notifiers = notifiers_for(policy)
    options = {"max_instances": 1, "coalesce": True, "next_run_time": utcnow()}
    scheduler.add_job(
        guarded("期限巡检", lambda: sweep_and_beat(engine, policy), log),
        "interval",
        seconds=settings.sweep_seconds,
        id="sla-sweep",
        **options,
    )
    scheduler.add_job(
        guarded("通知投递", lambda: jobs.deliver(engine, notifiers=notifiers, now=utcnow()), log),
        "interval",
        seconds=settings.delivery_seconds,
        id="outbox-delivery",
        **options,
    )
    evaluation_jobs.add_jobs(
        scheduler, engine, grace_days=settings.evaluation_grace_days, options=options
    )
    scheduler.add_job(
        guarded("看板日汇总", lambda: rollup.refresh(engine), log),
        "interval",
        seconds=settings.rollup_seconds,
        id="dashboard-rollup",
        **options,
    )
    platform_jobs.add_jobs(
        scheduler, engine, policy, routing, integrations, connectors, serving, options
    )
    platform_jobs.add_channel_jobs(scheduler, engine, policy, integrations, options)
    return scheduler
