"""Stuck step reports, as an administrator lists them and retries or skips them, over HTTP."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.db import session_scope
from integrations.settings import get_integration_settings
from models import OutboundEvent, OutboundState, Role, utcnow
from tests.conftest import MakeUser
from tests.integration.fake_platform import FakePlatformProcess, order
from tests.integrations.connector import SECRET, connector_text, reset, use_connector
from tests.tickets.test_platform_outbound import client_for, push, walk
from tickets import outbound

URL = "/api/v1/outbound"


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlatformProcess]:
    fake = FakePlatformProcess(SECRET, tmp_path)
    fake.start()
    path = tmp_path / "sh12345.yaml"
    path.write_text(connector_text(fake.url).replace("timeout_seconds: 10", "timeout_seconds: 1"))
    # Long backoffs: a failed report stays stuck until someone acts on it.
    use_connector(
        monkeypatch,
        path,
        QISU_PLATFORM_RETRY_FIRST_SECONDS="3600",
        QISU_PLATFORM_RETRY_CAP_SECONDS="3600",
    )
    yield fake
    fake.stop()
    monkeypatch.undo()
    reset()


def _deliver(engine: Engine) -> tuple[int, int]:
    settings = get_integration_settings()
    return outbound.deliver(engine, clients=client_for(), settings=settings, budget_seconds=5)


def _states(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(OutboundEvent).order_by(col(OutboundEvent.id))).all()
        return [(r.payload["step"], r.state) for r in rows]


def test_a_stuck_report_is_listed_retried_and_skipped_and_the_later_ones_go_on(
    platform: FakePlatformProcess, client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    admin = make_user(Role.ADMIN)
    ticket_id = push(client, order(1))
    platform.control("misbehave", outage_seconds=3600)  # the platform is down
    walk(client, ticket_id, make_user)
    assert _deliver(engine) == (0, 1)  # only the ticket's first report is tried; the rest wait
    with session_scope(engine, write=True) as session:  # it failed an hour ago
        session.execute(update(OutboundEvent).values(created_at=utcnow() - timedelta(hours=1)))

    listed = client.get(f"{URL}/stuck", headers=admin)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["count"] == 1
    stuck = page["items"][0]
    assert (stuck["ticket_id"], stuck["action"], stuck["action_name"]) == (
        ticket_id, "acknowledge", "签收",
    )  # fmt: skip
    assert stuck["attempts"] == 1 and "503" in stuck["last_error"]
    assert 3500 <= stuck["age_seconds"] <= 3700
    assert stuck["held_back"] == 6  # the ticket's six later reports wait behind it
    everyone = client.get(f"{URL}/stuck", params={"min_attempts": 0}, headers=admin).json()
    assert everyone["count"] == 7
    assert (
        client.get(f"{URL}/stuck", params={"source": "other"}, headers=admin).json()["count"] == 0
    )

    # Retry now: the backoff is an hour, so without it nothing would be sent.
    assert _deliver(engine) == (0, 0)
    platform.control("misbehave", outage_seconds=0)
    retried = client.post(f"{URL}/{stuck['id']}/retry", headers=admin)
    assert retried.status_code == 200, retried.text
    assert _deliver(engine)[0] == 7  # the head, then every report behind it, in order
    assert {state for _, state in _states(engine)} == {"delivered"}
    again = client.post(f"{URL}/{stuck['id']}/retry", headers=admin)
    assert again.status_code == 409 and again.json()["code"] == "not_pending"
    assert "已送达" in again.json()["detail"]

    # A second ticket's report that can never go: skipped with a reason, the next one goes on.
    second = push(client, order(2))
    platform.control("misbehave", outage_seconds=3600)
    walk(client, second, make_user)
    _deliver(engine)
    head = client.get(f"{URL}/stuck", headers=admin).json()["items"][0]
    missing = client.post(f"{URL}/{head['id']}/skip", json={}, headers=admin)
    assert missing.status_code == 422
    skipped = client.post(
        f"{URL}/{head['id']}/skip", json={"reason": "平台已人工补录签收"}, headers=admin
    )
    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["state"] == "skipped"
    assert "平台已人工补录签收" in skipped.json()["last_error"]
    assert "503" in skipped.json()["last_error"]  # the error it had is kept
    platform.control("misbehave", outage_seconds=0)
    assert _deliver(engine)[0] == 6
    with Session(engine) as session:
        by_id = select(OutboundEvent).where(OutboundEvent.ticket_id == second)
        rows = session.exec(by_id.order_by(col(OutboundEvent.id))).all()
    assert [r.state for r in rows] == [OutboundState.SKIPPED] + [OutboundState.DELIVERED] * 6
    steps = platform.report()["steps"]["SH0000002"]
    assert [s["step"] for s in steps] == ["XXLX", "YQSQ", "YQTG", "DF", "HF", "BJ"]
    gone = client.post(f"{URL}/{2**31 - 1}/skip", json={"reason": "x"}, headers=admin)
    assert gone.status_code == 404 and gone.json()["detail"] == f"没有编号为 {2**31 - 1} 的上报"
