"""Step reports to the platform and the poller, against the fake platform as a real process."""

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from deadlines.policy import load_policy
from integrations import signing
from integrations.platform import PlatformClient
from integrations.settings import get_integration_settings
from models import OutboundEvent, OutboundState, PlatformCursor, Role, Ticket, utcnow
from routing.model import ServingModel
from routing.settings import RoutingSettings
from tests.conftest import MakeUser, row_count, ticket_payload
from tests.integration.fake_platform import FakePlatformProcess, order
from tests.integrations.connector import (
    SECRET,
    configured,
    connector_text,
    reset,
    use_connector,
)
from tickets import inbound, outbound

STEPS = ["QS", "XXLX", "YQSQ", "YQTG", "DF", "HF", "BJ"]


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlatformProcess]:
    fake = FakePlatformProcess(SECRET, tmp_path)
    fake.start()
    path = tmp_path / "sh12345.yaml"
    path.write_text(connector_text(fake.url).replace("timeout_seconds: 10", "timeout_seconds: 1"))
    use_connector(
        monkeypatch,
        path,
        QISU_PLATFORM_RETRY_FIRST_SECONDS="0.2",
        QISU_PLATFORM_RETRY_CAP_SECONDS="0.5",
        QISU_PLATFORM_LEASE_SECONDS="5",
    )
    yield fake
    fake.stop()
    monkeypatch.undo()
    reset()


def client_for() -> dict[str, PlatformClient]:
    return {s: PlatformClient(c, SECRET) for s, c in configured().items()}


def push(client: TestClient, payload: Any) -> int:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        **signing.headers(SECRET, int(time.time()), body),
    }
    response = client.post("/api/v1/inbound/sh12345", content=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["ticket_id"])


def walk(client: TestClient, ticket_id: int, make_user: MakeUser) -> None:
    """Every reported step, by the people who take them."""
    desk, boss = make_user(Role.OPERATOR), make_user(Role.SUPERVISOR)
    market = make_user(Role.UNIT_HANDLER, "market_regulation")
    base = f"/api/v1/tickets/{ticket_id}"
    for action, who, body in [
        ("dispatch", desk, {"lead_unit": "market_regulation"}),
        ("acknowledge", market, None),
        ("contact", market, {"note": "已电话联系企业"}),
        ("request-extension", market, {"days": 3, "reason": "需现场核查"}),
        ("approve-extension", boss, None),
        ("reply", market, {"content": "已为企业办结许可变更"}),
        ("callback", desk, {"satisfaction": "basically_satisfied", "note": "企业基本满意"}),
        ("close", desk, None),
    ]:
        response = client.post(f"{base}/{action}", json=body, headers=who)
        assert response.status_code == 200, (action, response.text)


def test_each_step_is_queued_with_it_and_reported_once_in_order(
    platform: FakePlatformProcess, client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    ticket_id = push(client, order(1))
    walk(client, ticket_id, make_user)
    # A refused move writes no report: the step and its report commit together or not at all.
    market = make_user(Role.UNIT_HANDLER, "market_regulation")
    refused = client.post(f"/api/v1/tickets/{ticket_id}/acknowledge", headers=market)
    assert refused.status_code == 409
    with Session(engine) as session:
        queued = session.exec(select(OutboundEvent).order_by(col(OutboundEvent.id))).all()
    assert [e.payload["step"] for e in queued] == STEPS
    assert [e.payload["seq"] for e in queued] == sorted(e.payload["seq"] for e in queued)
    by_step = {e.payload["step"]: e.payload for e in queued}
    assert by_step["DF"]["content"] == "已为企业办结许可变更"
    assert by_step["YQSQ"]["days"] == 3 and by_step["YQSQ"]["content"] == "需现场核查"
    assert by_step["HF"]["satisfaction"] == "2"  # the platform's code for 基本满意
    assert by_step["QS"]["unit"] == "JD-SCJGJ"  # the platform's code for the unit
    # A desk-made ticket of another source reports nothing.
    desk = make_user(Role.OPERATOR)
    assert client.post("/api/v1/tickets", json=ticket_payload(9), headers=desk).status_code == 201
    assert row_count(engine, "outbound_event") == len(STEPS)

    # Half the platform's answers fail or come too late: reports wait, retry, and stay in order.
    platform.control("misbehave", fail_rate=0.35, timeout_rate=0.15, hang_seconds=1.5)
    settings = get_integration_settings()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        outbound.deliver(engine, clients=client_for(), settings=settings, budget_seconds=5)
        with Session(engine) as session:
            left = session.exec(
                select(OutboundEvent).where(OutboundEvent.state == OutboundState.PENDING)
            ).all()
        if not left:
            break
        time.sleep(0.3)
    assert not left
    report = platform.report()
    seen = report["steps"]["SH0000001"]
    assert [s["step"] for s in seen] == STEPS  # each exactly once, in order
    assert report["injected"]["500"] + report["injected"]["timeout"] > 0
    assert report["refused_signatures"] == 0


def test_a_report_waits_for_the_one_before_it(
    platform: FakePlatformProcess, client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    ticket_id = push(client, order(2))
    walk(client, ticket_id, make_user)
    platform.control("misbehave", outage_seconds=2)
    settings = get_integration_settings()
    sent, failed = outbound.deliver(
        engine, clients=client_for(), settings=settings, budget_seconds=1
    )
    assert (sent, failed) == (0, 1)  # only the head was tried; the rest waited behind it
    with Session(engine) as session:
        tried = session.exec(select(OutboundEvent).where(col(OutboundEvent.attempts) > 0)).all()
    assert [e.payload["step"] for e in tried] == ["QS"]
    assert platform.report()["steps"] == {}


def test_the_poller_takes_each_order_once_across_overlapping_shuffled_pages(
    platform: FakePlatformProcess, client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    bad = [17, 42]
    platform.control("orders", start=100, count=120, bad=[100 + b for b in bad])
    platform.control("misbehave", page_overlap=3, shuffle_pages=True, fail_rate=0.2)
    client_ = client_for()["sh12345"]
    taken = dead = 0
    for _ in range(5):
        got, lost = inbound.poll(
            engine,
            client=client_,
            policy=load_policy(),
            routing=RoutingSettings(),
            connectors=configured(),
            serving=ServingModel(None),
        )
        taken, dead = taken + got, dead + lost
    with Session(engine) as session:
        tickets = session.exec(select(Ticket.external_id).where(Ticket.source == "sh12345")).all()
        cursor = session.get(PlatformCursor, "sh12345")
    assert len(tickets) == len(set(tickets)) == 118
    assert cursor is not None and cursor.cursor == "120"
    admin = make_user(Role.ADMIN)
    letters = client.get("/api/v1/inbound/dead-letters", headers=admin).json()
    assert sorted(item["external_id"] for item in letters["items"]) == ["SH0000117", "SH0000142"]
    assert all(item["via"] == "pull" and item["field"] == "sqlx" for item in letters["items"])
    assert platform.report()["pages_served"] >= 3


def test_a_platform_that_never_answers_stops_the_poll_without_moving_the_cursor(
    platform: FakePlatformProcess, engine: Engine, client: TestClient
) -> None:
    platform.control("orders", start=0, count=10)
    platform.control("misbehave", outage_seconds=30)
    got = inbound.poll(
        engine,
        client=client_for()["sh12345"],
        policy=load_policy(),
        routing=RoutingSettings(),
        connectors=configured(),
        serving=ServingModel(None),
    )
    assert got == (0, 0)
    with Session(engine) as session:
        assert session.get(PlatformCursor, "sh12345") is None
    assert row_count(engine, "ticket") == 0


def test_expired_signatures_are_forgotten(engine: Engine) -> None:
    from models import InboundSignature

    with Session(engine) as session:
        session.add(
            InboundSignature(
                signature="a" * 64, source="s", expires_at=utcnow() - timedelta(seconds=1)
            )
        )
        session.add(
            InboundSignature(
                signature="b" * 64, source="s", expires_at=utcnow() + timedelta(minutes=5)
            )
        )
        session.commit()
    assert inbound.forget_expired_signatures(engine, now=utcnow()) == 1
    assert row_count(engine, "inbound_signature") == 1
