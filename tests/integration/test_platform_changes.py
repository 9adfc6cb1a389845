"""Changed and withdrawn (撤单) orders from the fake platform, pulled and pushed, applied once.

The fake platform is its own process: the poller reads its feed over HTTP, and it pushes to a
real `qisu serve`. Its feed repeats and reorders versions on purpose; only a newer version than
the one applied changes a ticket.
"""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from accounts import service as accounts_service
from core.db import session_scope
from deadlines.policy import load_policy
from integrations.platform import PlatformClient
from models import (
    Deadline,
    DeadlineStatus,
    OutboundEvent,
    Role,
    RoutingDecision,
    Ticket,
    TicketEvent,
)
from routing.model import ServingModel
from routing.settings import RoutingSettings
from tests.integration.conftest import LiveServer
from tests.integration.fake_platform import FakePlatformProcess
from tests.integrations.connector import SECRET, configured, connector_text, reset, use_connector
from tests.routing.conftest import models_dir
from tickets import inbound, service

CHANGED = "第1号平台工单：补充说明，许可已受理但未发证。"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[FakePlatformProcess]:
    fake = FakePlatformProcess(SECRET, tmp_path)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def connector(
    platform: FakePlatformProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    path = tmp_path / "sh12345.yaml"
    path.write_text(connector_text(platform.url), encoding="utf-8")
    use_connector(monkeypatch, path)
    yield path
    monkeypatch.undo()
    reset()


def _ticket(engine: Engine, order_id: str) -> tuple[Ticket, list[TicketEvent]]:
    with Session(engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.external_id == order_id)).one()
        events = session.exec(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(col(TicketEvent.id))
        ).all()
        return ticket, list(events)


__all__ = ["models_dir"]  # the trained test registry, a fixture


def _poll(engine: Engine, serving: ServingModel | None = None) -> tuple[int, int]:
    found = configured()
    client = PlatformClient(found["sh12345"], SECRET)
    return inbound.poll(
        engine,
        client=client,
        policy=load_policy(),
        routing=RoutingSettings(),
        connectors=found,
        serving=serving or ServingModel(None),
    )


def test_polled_orders_are_routed_by_the_served_model(
    platform: FakePlatformProcess,
    connector: Path,
    engine: Engine,
    models_dir: Path,
    tmp_path: Path,
) -> None:
    platform.control("orders", start=1, count=2)
    (tmp_path / "models").symlink_to(models_dir, target_is_directory=True)  # the data folder's
    served = ServingModel.served(tmp_path, RoutingSettings(quantized=False))
    assert _poll(engine, served) == (2, 0)
    with Session(engine) as session:
        versions = [d.model_version for d in session.exec(select(RoutingDecision))]
    assert len(versions) == 2 and None not in versions, versions


def test_pulled_changes_and_withdrawals_apply_once_and_older_versions_change_nothing(
    platform: FakePlatformProcess, connector: Path, engine: Engine
) -> None:
    platform.control("orders", start=1, count=3)
    assert _poll(engine) == (3, 0)
    first_text = _ticket(engine, "SH0000003")[0].text
    with session_scope(engine, write=True) as session:  # the desk dispatches order 2
        admin, _ = accounts_service.create_user(session, name="管理员", role=Role.ADMIN)
        dispatched = service.dispatch(
            session,
            ticket_id=_ticket(engine, "SH0000002")[0].id or 0,
            user=admin,
            lead_unit="market_regulation",
            assist_units=[],
            policy=load_policy(),
            connectors=configured(),
        )
        status_before = dispatched.status
    # Order 1 changed (and the change delivered twice); order 2 withdrawn; order 3 changed twice,
    # its newer version arriving before the older one.
    for _ in range(2):
        platform.control("change", n=1, minutes=30, text=CHANGED)
    platform.control("change", n=2, minutes=45, withdraw=True)
    platform.control("change", n=3, minutes=50, text="第3号平台工单：第二次修改后的内容。")
    platform.control("change", n=3, minutes=20, text="第3号平台工单：第一次修改后的内容。")
    platform.control("misbehave", page_overlap=2, shuffle_pages=True)
    _poll(engine)
    _poll(engine)  # the overlap serves the last versions again: nothing more changes

    amended, events = _ticket(engine, "SH0000001")
    assert amended.text == CHANGED
    amends = [e for e in events if e.action == "amend"]
    assert len(amends) == 1
    assert amends[0].before["text"].startswith("第1号平台工单：我司办理经营许可事项")
    assert amends[0].after["text"] == amended.text
    assert amends[0].actor_name == "平台:sh12345"

    withdrawn, events = _ticket(engine, "SH0000002")
    assert (withdrawn.status, withdrawn.closed_at is not None) == ("closed", True)
    withdrawals = [e for e in events if e.action == "withdraw"]
    assert len(withdrawals) == 1 and withdrawals[0].note == "平台撤单：企业已自行解决，申请撤单"
    assert withdrawals[0].before["status"] == status_before
    assert withdrawals[0].after["status"] == "closed"
    with Session(engine) as session:
        clocks = session.exec(select(Deadline).where(Deadline.ticket_id == withdrawn.id)).all()
        reports = session.exec(
            select(OutboundEvent).where(OutboundEvent.ticket_id == withdrawn.id)
        ).all()
    assert clocks and {c.status for c in clocks} == {DeadlineStatus.CANCELLED}
    assert "withdraw" not in {r.action for r in reports}  # the platform's own doing

    newest, events = _ticket(engine, "SH0000003")
    assert newest.text == "第3号平台工单：第二次修改后的内容。" != first_text
    assert [e.action for e in events].count("amend") == 1


def _wait(what: str, check: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_pushed_withdrawal_closes_the_ticket_once_and_a_late_change_is_ignored(
    platform: FakePlatformProcess, connector: Path, engine: Engine, tmp_path: Path
) -> None:
    server = LiveServer(
        engine.url.render_as_string(hide_password=False),
        tmp_path,
        QISU_PLATFORM_SOURCES=f'["{connector}"]',
        QISU_PLATFORM_SECRETS='{"sh12345": "%s"}' % SECRET,  # noqa: UP031
    )
    server.start()
    try:
        url = f"{server.url}/api/v1/inbound/sh12345"
        platform.control("push", url=url, start=7, count=1, workers=1)
        _wait("the order taken in", lambda: platform.report()["push"].get("201") == 1)
        platform.control("change", n=7, minutes=40, withdraw=True, push_url=url, copies=2)
        _wait("both withdrawals answered", lambda: platform.report()["push"].get("200") == 2)
        platform.control("change", n=7, minutes=10, text="旧版本：迟到的修改", push_url=url)
        _wait("the late change answered", lambda: platform.report()["push"].get("200") == 3)
        # qisu says what each delivery did.
        outcome = httpx.get(f"{platform.url}/control/report", timeout=10).json()["push"]
        assert outcome == {"201": 1, "200": 3}
    finally:
        server.stop()
    ticket, events = _ticket(engine, "SH0000007")
    assert ticket.status == "closed"
    assert "迟到" not in ticket.text
    assert [e.action for e in events].count("withdraw") == 1
    assert "amend" not in [e.action for e in events]
