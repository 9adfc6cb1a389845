"""SMS and e-mail: fanned out per the policy's recipients, signed, retried, visible to admins.

The SMS gateway is a local HTTP server; the mail server is aiosmtpd run as its own process.
"""

import hashlib
import hmac
import json
import mailbox
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.db import session_scope
from deadlines.policy import PolicyError, load_policy, parse_policy
from integrations.mailer import Mailer
from integrations.settings import IntegrationSettings
from integrations.sms import SmsGateway
from models import ChannelDelivery, DeliveryState, Notification, Role, utcnow
from tests.conftest import MakeUser
from tickets import channels

POLICY = load_policy()
RECIPIENTS = """
recipients:
  role:supervisor:
    sms: ["13900000001", "13900000002"]
    email: [boss@jiading.example]
  unit:market_regulation:
    email: [scjg@jiading.example]
"""


def policy_with(extra: str) -> Any:
    text = (Path(__file__).resolve().parents[2] / "deadlines/data/sla-policy.yaml").read_text()
    return parse_policy(text + extra, "policy.yaml")


class Gateway:
    """A local SMS gateway that checks the signature and answers as told."""

    def __init__(self, secret: str) -> None:
        self.received: list[dict[str, Any]] = []
        self.answers: list[tuple[int, dict[str, Any]]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["X-Sms-Timestamp"]
                signed = f"{stamp}\n{body.decode()}".encode()
                good = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(good, self.headers["X-Sms-Signature"])
                status, answer = gateway.answers.pop(0) if gateway.answers else (200, {"code": 0})
                if not ok:
                    status, answer = 401, {"code": 401}
                gateway.received.append({"ok": ok, **json.loads(body)})
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    fake = Gateway("sms-secret")
    yield fake
    fake.server.shutdown()


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    maildir = tmp_path / "maildir"
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-u", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port, maildir
    process.terminate()
    process.wait(timeout=10)


def settings_for(gateway: Gateway | None = None, smtp_port: int = 1) -> IntegrationSettings:
    return IntegrationSettings(
        sms_url=gateway.url if gateway else "",
        sms_secret="sms-secret",
        sms_body_template=json.dumps(
            {"mobile": "{phone}", "content": "{text}", "sign": "嘉定", "tag": "{kind}"}
        ),
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        channel_max_attempts=2,
    )


def queue(engine: Engine, recipient: str, text: str = "【督办】工单 7 的签收已超时") -> int:
    with session_scope(engine, write=True) as session:
        message = Notification(recipient=recipient, kind="deadline_breached", text=text)
        session.add(message)
        session.flush()
        return message.id or 0


def test_the_policy_names_phones_and_mailboxes_per_recipient_and_refuses_a_wrong_one() -> None:
    policy = policy_with(RECIPIENTS)
    assert policy.recipients["role:supervisor"]["sms"] == ("13900000001", "13900000002")
    assert policy.recipients["unit:market_regulation"] == {"email": ("scjg@jiading.example",)}
    with pytest.raises(PolicyError, match="not an email address"):
        policy_with(RECIPIENTS.replace("boss@jiading.example", "boss"))
    with pytest.raises(PolicyError, match="unknown channel 'fax'"):
        policy_with(RECIPIENTS.replace("    email: [scjg", "    fax: [scjg"))


def test_messages_reach_phones_and_mailboxes_once_each(
    engine: Engine, gateway: Gateway, smtp_server: tuple[int, Path]
) -> None:
    port, maildir = smtp_server
    policy = policy_with(RECIPIENTS)
    first = queue(
        engine, "role:supervisor", "【督办】以下 2 项已超时，升级为区营商办督办：工单 7 的签收"
    )
    queue(engine, "unit:market_regulation")
    queue(engine, "unit:tax")  # nobody configured: no delivery
    assert channels.fan_out(engine, policy=policy) == 4
    assert channels.fan_out(engine, policy=policy) == 0  # a second run adds nothing
    settings = settings_for(gateway, port)
    senders: dict[str, channels.Sender] = {"sms": SmsGateway(settings), "email": Mailer(settings)}
    assert channels.deliver(engine, senders=senders, settings=settings) == (4, 0)
    assert channels.deliver(engine, senders=senders, settings=settings) == (0, 0)
    assert sorted(r["mobile"] for r in gateway.received) == ["13900000001", "13900000002"]
    sms = gateway.received[0]
    assert sms["ok"] and sms["sign"] == "嘉定" and sms["tag"] == "deadline_breached"
    assert sms["content"].startswith("【嘉定企诉】【督办】以下 2 项已超时")
    mails = list(mailbox.Maildir(str(maildir)))
    assert sorted(m["To"] for m in mails) == ["boss@jiading.example", "scjg@jiading.example"]
    boss = next(m for m in mails if m["To"] == "boss@jiading.example")
    assert str(make_header(decode_header(boss["Subject"]))) == "【企诉】超时督办"
    payload = boss.get_payload(decode=True)
    assert isinstance(payload, bytes) and "升级为区营商办督办" in payload.decode("utf-8")
    with Session(engine) as session:
        rows = session.exec(
            select(ChannelDelivery).where(ChannelDelivery.notification_id == first)
        ).all()
    assert {(r.channel, r.state) for r in rows} == {("sms", "delivered"), ("email", "delivered")}


def test_a_failing_channel_is_retried_then_given_up_and_shown_to_administrators(
    engine: Engine, gateway: Gateway, client: TestClient, make_user: MakeUser
) -> None:
    policy = policy_with(RECIPIENTS)
    queue(engine, "role:supervisor")
    channels.fan_out(engine, policy=policy)
    gateway.answers = [
        (500, {"code": 1}),
        (200, {"code": 0}),
        (200, {"code": 17, "msg": "余额不足"}),
    ]
    settings = settings_for(gateway)  # no SMTP server listens on port 1
    senders: dict[str, channels.Sender] = {"sms": SmsGateway(settings), "email": Mailer(settings)}
    assert channels.deliver(engine, senders=senders, settings=settings) == (1, 2)
    # The 500 and the mailbox failed; the other phone got its text. Later, the gateway refuses.
    later = utcnow() + timedelta(minutes=5)
    channels.deliver(engine, senders=senders, settings=settings, clock=lambda: later)
    with Session(engine) as session:
        rows = {(r.channel, r.address): r for r in session.exec(select(ChannelDelivery))}
    email = rows[("email", "boss@jiading.example")]
    assert (email.state, email.attempts) == ("failed", 2) and "SMTP" in (email.last_error or "")
    texts = sorted((r.state, r.attempts) for r in rows.values() if r.channel == "sms")
    assert texts == [("delivered", 1), ("failed", 2)]
    refused = next(r for r in rows.values() if r.state == "failed" and r.channel == "sms")
    assert "gateway refused" in (refused.last_error or "")
    admin = make_user(Role.ADMIN)
    listed = client.get("/api/v1/notifications", headers=admin).json()
    assert listed["count"] == 1
    shown = {(d["channel"], d["address"]): d for d in listed["items"][0]["deliveries"]}
    assert shown[("email", "boss@jiading.example")]["state"] == "failed"
    assert "SMTP" in shown[("email", "boss@jiading.example")]["last_error"]
    pending = client.get("/api/v1/notifications?state=pending", headers=admin).json()
    assert pending["count"] == 1 and pending["items"][0]["state"] == DeliveryState.PENDING
    assert client.get("/api/v1/notifications?state=delivered", headers=admin).json()["count"] == 0
    desk = make_user(Role.OPERATOR)
    assert client.get("/api/v1/notifications", headers=desk).status_code == 403


def test_a_long_digest_is_cut_to_the_gateways_length() -> None:
    from integrations.notifiers import Message

    gateway = SmsGateway(settings_for())
    text = gateway.text(Message(recipient="role:x", kind="k", text="超时" * 400))
    assert len(text) == 300 and text.endswith("…")
