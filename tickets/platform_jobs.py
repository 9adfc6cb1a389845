"""Scheduled integration work: pull platform orders, report steps, reach people by SMS and mail."""

import logging
from typing import Any

import httpx
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.engine import Engine

from core.jobs import guarded
from deadlines.policy import SlaPolicy
from integrations.mailer import Mailer
from integrations.platform import PlatformClient
from integrations.settings import IntegrationSettings
from integrations.sms import SmsGateway
from models import utcnow
from routing.model import ServingModel
from routing.settings import RoutingSettings
from tickets import channels, inbound, outbound
from tickets.connectors import Connectors

log = logging.getLogger("qisu.platform")


def clients(connectors: Connectors, settings: IntegrationSettings) -> dict[str, PlatformClient]:
    """One HTTP client per connector, signing with its source's secret."""
    http = httpx.Client()
    return {
        source: PlatformClient(connector, settings.platform_secrets[source], client=http)
        for source, connector in connectors.items()
    }


def poll_all(
    engine: Engine,
    found: dict[str, PlatformClient],
    policy: SlaPolicy,
    routing: RoutingSettings,
    connectors: Connectors,
    serving: ServingModel,
) -> None:
    """Pull every source that has a pull configured, and drop expired signatures."""
    for client in found.values():
        if client.connector.pull is not None:
            try:
                inbound.poll(
                    engine,
                    client=client,
                    policy=policy,
                    routing=routing,
                    connectors=connectors,
                    serving=serving,
                )
            except Exception:  # one platform's failure must not stop the others
                log.exception(
                    "poll of %s failed; retrying at the next interval", client.connector.source
                )
    inbound.forget_expired_signatures(engine, now=utcnow())


def add_jobs(
    scheduler: BaseScheduler,
    engine: Engine,
    policy: SlaPolicy,
    routing: RoutingSettings,
    settings: IntegrationSettings,
    connectors: Connectors,
    serving: ServingModel,
    options: dict[str, Any],
) -> None:
    """The poller (whose intakes run with this policy, routing and model) and the report
    delivery (with these settings), when any platform is configured."""
    if not connectors:
        return
    found = clients(connectors, settings)
    scheduler.add_job(
        guarded(
            "platform poll",
            lambda: poll_all(engine, found, policy, routing, connectors, serving),
            log,
        ),
        "interval",
        seconds=settings.platform_poll_seconds,
        id="platform-poll",
        **options,
    )
    scheduler.add_job(
        guarded(
            "platform delivery",
            lambda: outbound.deliver(engine, clients=found, settings=settings),
            log,
        ),
        "interval",
        seconds=settings.platform_delivery_seconds,
        id="platform-delivery",
        **options,
    )


def senders(settings: IntegrationSettings) -> dict[str, channels.Sender]:
    """The SMS gateway and the mailer, where configured."""
    found: dict[str, channels.Sender] = {}
    if settings.sms_url:
        found["sms"] = SmsGateway(settings)
    if settings.smtp_host:
        found["email"] = Mailer(settings)
    return found


def add_channel_jobs(
    scheduler: BaseScheduler,
    engine: Engine,
    policy: SlaPolicy,
    settings: IntegrationSettings,
    options: dict[str, Any],
) -> None:
    """Fan messages out to phones and mailboxes and send them, when the policy names any."""
    if not policy.recipients:
        return
    found = senders(settings)

    def run() -> None:
        channels.fan_out(engine, policy=policy)
        channels.deliver(engine, senders=found, settings=settings)

    scheduler.add_job(
        guarded("sms and e-mail", run, log),
        "interval",
        seconds=settings.channel_delivery_seconds,
        id="channel-delivery",
        **options,
    )
