"""Real HTTP to a real server process: concurrent actions and a kill -9 during intake."""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models import Role, Ticket
from tests.conftest import MakeUser, ticket_payload
from tests.integration.conftest import LiveServer


def test_of_two_concurrent_moves_exactly_one_wins(
    live_server: LiveServer, make_user: MakeUser
) -> None:
    desk = make_user(Role.OPERATOR)
    market = make_user(Role.UNIT_HANDLER, "market_regulation")
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        for n in range(8):
            ticket = http.post("/api/v1/tickets", json=ticket_payload(n), headers=desk).json()
            base = f"/api/v1/tickets/{ticket['id']}"
            barrier = threading.Barrier(2)

            def dispatch(lead: str, url: str = base, gate: threading.Barrier = barrier) -> int:
                gate.wait()
                body = {"lead_unit": lead}
                return http.post(f"{url}/dispatch", json=body, headers=desk).status_code

            with ThreadPoolExecutor(2) as pool:
                codes = sorted(pool.map(dispatch, ["market_regulation", "hrss"]))
            assert codes == [200, 409], codes
            final = http.get(base, headers=desk).json()
            assert final["version"] == 2 and len(final["assignments"]) == 1
            events = http.get(f"{base}/events", headers=desk).json()
            assert [e["action"] for e in events] == ["received", "dispatch"]
            if final["lead_unit"] == "market_regulation":
                ack = f"{base}/acknowledge"
                with ThreadPoolExecutor(2) as pool:
                    replies = pool.map(lambda url: http.post(url, headers=market), [ack, ack])
                    acks = sorted(r.status_code for r in replies)
                assert acks == [200, 409], acks


def test_kill_9_loses_no_answered_ticket(
    live_server: LiveServer, make_user: MakeUser, engine: Engine
) -> None:
    desk = make_user(Role.OPERATOR)
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def stream(worker: int) -> None:
        with httpx.Client(base_url=live_server.url, timeout=10) as http:
            for n in range(100_000):
                if stop.is_set():
                    return
                body = ticket_payload(worker * 100_000 + n)
                try:
                    response = http.post("/api/v1/tickets", json=body, headers=desk)
                except httpx.TransportError:
                    return  # the server died under us; this one was never answered
                if response.status_code == 201:
                    with lock:
                        answered.append(body["external_id"])

    workers = [threading.Thread(target=stream, args=(w,)) for w in range(4)]
    for worker in workers:
        worker.start()
    while len(answered) < 150:
        threading.Event().wait(0.05)
    live_server.kill()
    stop.set()
    for worker in workers:
        worker.join()
    with Session(engine) as session:
        stored = set(
            session.exec(select(Ticket.external_id).where(col(Ticket.external_id).in_(answered)))
        )
    assert stored == set(answered), f"lost {len(set(answered) - stored)} of {len(answered)}"
    # The database is still sound: a new server starts on it and serves every ticket.
    live_server.start()
    count = httpx.get(f"{live_server.url}/api/v1/tickets?limit=1", headers=desk).json()["count"]
    assert count >= len(answered)
    assert "Traceback" not in live_server.log_text()


def test_bad_input_leaves_no_traceback_in_the_log(
    live_server: LiveServer, make_user: MakeUser
) -> None:
    desk = make_user(Role.OPERATOR)
    bad_requests: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/tickets", {"content": b"{not json"}),
        ("POST", "/api/v1/tickets", {"json": ticket_payload(text="x" * 100_000)}),
        ("POST", "/api/v1/tickets", {"json": ticket_payload(received_at="2026-11-02 09:30")}),
        ("POST", "/api/v1/tickets/1/dispatch", {"json": {"lead_unit": "nowhere"}}),
        ("POST", "/api/v1/tickets/abc/close", {}),
        ("GET", "/api/v1/tickets?limit=-1", {}),
    ]
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        for method, path, extra in bad_requests:
            response = http.request(
                method, path, headers={**desk, "Content-Type": "application/json"}, **extra
            )
            assert 400 <= response.status_code < 500, (path, response.status_code)
        assert http.get("/api/v1/tickets", headers={"Authorization": "Bearer x"}).status_code == 401
    assert "Traceback" not in live_server.log_text()
    assert " 500 " not in live_server.log_text()
