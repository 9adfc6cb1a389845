"""Finding 5 in a real `qisu serve`: the outbox's log channel and the sweeps reach the log."""

import time
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.db import session_scope
from models import DeliveryState, Notification, Role
from tests.conftest import MakeUser, ticket_payload
from tests.integration.conftest import LiveServer


def test_notifications_and_sweeps_are_written(
    engine: Engine, tmp_path: Path, make_user: MakeUser
) -> None:
    server = LiveServer(
        engine.url.render_as_string(hide_password=False),
        tmp_path,
        QISU_EMBEDDED_SCHEDULER="true",
        QISU_SWEEP_SECONDS="0.5",
        QISU_DELIVERY_SECONDS="0.5",
    )
    server.start()
    try:
        desk = make_user(Role.OPERATOR)
        body = ticket_payload(contact={"name": "隐私先生", "phone": "13912345678"})
        httpx.post(f"{server.url}/api/v1/tickets", json=body, headers=desk, timeout=30)
        with session_scope(engine, write=True) as session:
            session.add(Notification(recipient="role:supervisor", kind="test", text="测试通知 #1"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with Session(engine) as session:
                row = session.exec(select(Notification).where(Notification.kind == "test")).one()
            if row.state == DeliveryState.DELIVERED and "期限巡检" in server.log_text():
                break
            time.sleep(0.3)
    finally:
        server.stop()
    log = server.log_text()
    assert row.state == DeliveryState.DELIVERED
    assert "通知 role:supervisor [test]：测试通知 #1" in log
    assert "期限巡检" in log
    assert "隐私先生" not in log and "13912345678" not in log
