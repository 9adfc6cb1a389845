"""Pushed platform orders: signed, fresh, never replayed, mapped, idempotent; dead letters."""

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.main import create_app
from core.config import Settings
from integrations import signing
from models import Role, Ticket, TicketEvent
from tests.conftest import MakeUser, row_count
from tests.integration.fake_platform import order
from tests.integrations import connector
from tests.integrations.connector import SECRET, reset

URL = "/api/v1/inbound/sh12345"
connector_file = connector.connector_file


def signed(body: bytes, *, stamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        **signing.headers(secret, stamp or int(time.time()), body),
    }


def push(client: TestClient, payload: Any, **kwargs: Any) -> Any:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return client.post(URL, content=body, headers=signed(body, **kwargs))


def written(engine: Engine) -> dict[str, int]:
    tables = ("ticket", "ticketevent", "inbound_signature", "dead_letter", "outbound_event")
    return {table: row_count(engine, table) for table in tables}


def test_a_pushed_order_is_taken_in_once_and_routed_like_any_appeal(
    connector_file: Path, client: TestClient, engine: Engine
) -> None:
    first = push(client, order(1))
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True and first.json()["external_id"] == "SH0000001"
    # The platform retries (a new request, a new signature): the same ticket, not a second.
    again = push(client, order(1))
    assert again.status_code == 200 and again.json()["ticket_id"] == first.json()["ticket_id"]
    with Session(engine) as session:
        ticket = session.get(Ticket, first.json()["ticket_id"])
        assert ticket is not None
        assert (ticket.source, ticket.channel, ticket.appeal_type) == (
            "sh12345",
            "hotline",
            "complaint",
        )
        # 2026-11-02 09:01 in the platform's Shanghai time is 01:01 UTC.
        assert ticket.received_at.isoformat() == "2026-11-02T01:01:00+00:00"
        assert ticket.enterprise_code.startswith("91310114MA2")
        assert ticket.status == "triage"  # no model here: routing leaves it to the desk
        events = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
        assert [(e.action, e.actor_name) for e in events] == [("received", "平台:sh12345")]


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("wrong secret", 401, "bad_signature"),
        ("body changed after signing", 401, "bad_signature"),
        ("six minutes old", 401, "stale_request"),
        ("six minutes ahead", 401, "stale_request"),
        ("unsigned", 401, "unsigned"),
        ("nonce changed after signing", 401, "bad_signature"),
        ("unknown source", 404, "unknown_source"),
    ],
)
def test_refused_pushes_write_nothing_and_say_why(
    connector_file: Path,
    client: TestClient,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
    case: str,
    status: int,
    code: str,
) -> None:
    body = json.dumps(order(2), ensure_ascii=False).encode()
    headers = signed(body)
    url = URL
    if case == "wrong secret":
        headers = signed(body, secret="guessed")
    elif case == "body changed after signing":
        body = body.replace(b"SH0000002", b"SH0000003")
    elif case == "six minutes old":
        headers = signed(body, stamp=int(time.time()) - 360)
    elif case == "six minutes ahead":
        headers = signed(body, stamp=int(time.time()) + 360)
    elif case == "unsigned":
        headers = {"Content-Type": "application/json"}
    elif case == "nonce changed after signing":
        headers = {**headers, signing.NONCE_HEADER: "another"}
    elif case == "unknown source":
        url = "/api/v1/inbound/elsewhere"
    before = written(engine)
    with caplog.at_level(logging.WARNING, logger="qisu.inbound"):
        response = client.post(url, content=body, headers=headers)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["code"] == code
    assert any("\u4e00" <= char <= "\u9fff" for char in answer["detail"])  # a Chinese reason
    assert written(engine) == before
    if status == 401:
        assert code in caplog.text


def test_a_replayed_request_is_refused_and_writes_nothing(
    connector_file: Path, client: TestClient, engine: Engine
) -> None:
    body = json.dumps(order(4), ensure_ascii=False).encode()
    headers = signed(body)
    assert client.post(URL, content=body, headers=headers).status_code == 201
    before = written(engine)
    replayed = client.post(URL, content=body, headers=headers)
    assert replayed.status_code == 409 and replayed.json()["code"] == "replayed"
    assert "重放" in replayed.json()["detail"]
    assert written(engine) == before


def test_an_unmappable_order_is_refused_and_kept_as_a_dead_letter_to_replay(
    connector_file: Path,
    client: TestClient,
    engine: Engine,
    make_user: MakeUser,
    settings: Settings,
) -> None:
    admin = make_user(Role.ADMIN)
    before = written(engine)
    response = push(client, order(5, bad=True))
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["code"] == "unmappable_order" and answer["field"] == "sqlx"
    assert "sqlx" in answer["detail"] and "'99'" in answer["detail"]
    after = written(engine)
    # No ticket, no event, no signature: only the dead letter.
    changed = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    assert changed == {"dead_letter": 1}
    # The platform sends it again: the same dead letter counts it, no second row.
    assert push(client, order(5, bad=True)).status_code == 422
    letters = client.get("/api/v1/inbound/dead-letters?state=pending", headers=admin).json()
    assert letters["count"] == 1
    letter = letters["items"][0]
    assert (letter["external_id"], letter["via"], letter["attempts"]) == ("SH0000005", "push", 2)
    assert letter["payload"]["sqlx"] == "99"
    # Replayed with the same mapping it fails again, saying why, and stays.
    retry = client.post(f"/api/v1/inbound/dead-letters/{letter['id']}/replay", headers=admin)
    assert retry.status_code == 422 and "仍无法映射" in retry.json()["detail"]
    # The administrator adds the code to the connector and restarts qisu (an app loads its
    # connectors when it starts); the replay takes it in.
    connector_file.write_text(
        connector_file.read_text(encoding="utf-8").replace(
            '"05": suggestion', '"05": suggestion\n    "99": complaint'
        ),
        encoding="utf-8",
    )
    still = client.post(f"/api/v1/inbound/dead-letters/{letter['id']}/replay", headers=admin)
    assert still.status_code == 422  # the running app keeps the connector it started with
    reset()
    with TestClient(create_app(settings), raise_server_exceptions=False) as restarted:
        done = restarted.post(f"/api/v1/inbound/dead-letters/{letter['id']}/replay", headers=admin)
        assert done.status_code == 200, done.text
        assert done.json()["dead_letter"]["state"] == "replayed"
        with Session(engine) as session:
            ticket = session.get(Ticket, done.json()["ticket_id"])
            assert ticket is not None and ticket.external_id == "SH0000005"
        again = restarted.post(f"/api/v1/inbound/dead-letters/{letter['id']}/replay", headers=admin)
        assert again.status_code == 422


def test_a_bad_credit_code_names_the_platforms_field(
    connector_file: Path, client: TestClient, engine: Engine
) -> None:
    payload = order(6)
    payload["qyxx"]["tyshxydm"] = payload["qyxx"]["tyshxydm"][:17] + "0"
    response = push(client, payload)
    assert response.status_code == 422
    assert response.json()["field"] == "qyxx.tyshxydm"
    assert row_count(engine, "ticket") == 0


def test_dead_letters_are_for_administrators(
    connector_file: Path, client: TestClient, make_user: MakeUser
) -> None:
    desk = make_user(Role.OPERATOR)
    assert client.get("/api/v1/inbound/dead-letters", headers=desk).status_code == 403
    assert client.post("/api/v1/inbound/dead-letters/1/replay", headers=desk).status_code == 403
