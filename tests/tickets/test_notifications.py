"""The outbox: webhook delivery over real HTTP, retried with backoff, never lost."""

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.scheduler import sweep
from deadlines.policy import load_policy
from integrations.notifiers import LogNotifier, Message, WebhookNotifier
from models import DeliveryState, Notification, utcnow
from tests.tickets.conftest import Loop
from tickets import jobs


class Robot:
    """A local stand-in for a WeCom group robot: answers with the queued replies in turn."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, dict[str, Any]]] = []
        self.received: list[dict[str, Any]] = []
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                robot.received.append(json.loads(self.rfile.read(length)))
                status, body = robot.replies.pop(0) if robot.replies else (200, {"errcode": 0})
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send"


@pytest.fixture
def robot() -> Iterator[Robot]:
    robot = Robot()
    thread = threading.Thread(target=robot.server.serve_forever, daemon=True)
    thread.start()
    yield robot
    robot.server.shutdown()


def outbox(engine: Engine) -> list[Notification]:
    with Session(engine) as session:
        return list(session.exec(select(Notification)))


def test_webhook_retries_with_backoff_until_delivered(
    loop: Loop, engine: Engine, robot: Robot
) -> None:
    loop.dispatch()
    now = utcnow() + timedelta(days=60)
    sweep(engine, policy=load_policy(), now=now)
    # One digest to the unit and one to district leadership: all three clocks breached at once.
    recipients = sorted(n.recipient for n in outbox(engine))
    assert recipients == ["role:leadership", "unit:market_regulation"]
    notifier = WebhookNotifier(dict.fromkeys(recipients, robot.url))
    robot.replies = [(500, {"error": "down"}), (200, {"errcode": 93000, "errmsg": "invalid key"})]

    delivered, failed = jobs.deliver(engine, notifiers=[LogNotifier(), notifier], now=now)
    assert (delivered, failed) == (0, 2)
    waiting = [n for n in outbox(engine) if n.state == DeliveryState.PENDING]
    assert {n.last_error[:8] for n in waiting if n.last_error} == {"HTTP 500", "errcode "}
    assert all(n.next_attempt_at == now + timedelta(seconds=30) for n in waiting)

    # Not due again before the backoff; then delivered on the next try.
    assert jobs.deliver(engine, notifiers=[notifier], now=now + timedelta(seconds=10)) == (0, 0)
    assert jobs.deliver(engine, notifiers=[notifier], now=now + timedelta(seconds=31)) == (2, 0)
    assert {n.state for n in outbox(engine)} == {DeliveryState.DELIVERED}
    assert len(robot.received) == 4
    assert robot.received[0]["msgtype"] == "text"
    content = robot.received[0]["text"]["content"]
    assert content.startswith("【督办】以下 3 项已超时") and content.count("工单") == 3


class Broken:
    """A notifier that fails in an unexpected way."""

    def send(self, message: Message) -> None:
        raise RuntimeError("boom")


def test_a_failing_endpoint_never_loses_the_message(loop: Loop, engine: Engine) -> None:
    loop.dispatch()
    now = utcnow() + timedelta(days=60)
    sweep(engine, policy=load_policy(), now=now)
    total = len(outbox(engine))
    at = now
    for _ in range(jobs.MAX_ATTEMPTS):
        assert jobs.deliver(engine, notifiers=[Broken()], now=at) == (0, total)
        at += timedelta(hours=2)
    messages = outbox(engine)
    assert all(
        n.state == DeliveryState.FAILED and n.attempts == jobs.MAX_ATTEMPTS for n in messages
    )
    assert all(n.last_error == "RuntimeError: boom" for n in messages)
    assert jobs.deliver(engine, notifiers=[LogNotifier()], now=at) == (0, 0)


def test_unreachable_webhook_is_a_retried_failure(loop: Loop, engine: Engine) -> None:
    loop.dispatch()
    now = utcnow() + timedelta(days=60)
    sweep(engine, policy=load_policy(), now=now)
    closed_port = WebhookNotifier({"unit:market_regulation": "http://127.0.0.1:9/x"}, timeout=1)
    assert jobs.deliver(engine, notifiers=[closed_port], now=now)[1] == 1
    assert all(
        n.state == DeliveryState.PENDING and "ConnectError" in (n.last_error or "")
        for n in outbox(engine)
        if n.recipient == "unit:market_regulation"
    )
