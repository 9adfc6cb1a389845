"""Finding 1 over real sockets: oversized, streamed, stalled and silent clients of `qisu serve`."""

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import Engine

from models import Role
from tests.conftest import MakeUser, ticket_payload
from tests.integration.conftest import LiveServer

LIMIT = 65536


@pytest.fixture(scope="module")
def guarded_server(
    session_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server for the module (starting one takes seconds): 64 KiB bodies, short timeouts."""
    server = LiveServer(
        session_engine.url.render_as_string(hide_password=False),
        tmp_path_factory.mktemp("guarded"),
        QISU_MAX_BODY_BYTES=str(LIMIT),
        QISU_BODY_TIMEOUT_SECONDS="1",
        QISU_HEADER_TIMEOUT_SECONDS="1",
        QISU_KEEP_ALIVE_SECONDS="1",
    )
    server.start()
    yield server
    server.stop()


def _connect(server: LiveServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _head(token: str, extra: str) -> bytes:
    return (
        "POST /api/v1/tickets HTTP/1.1\r\nHost: qisu\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\n{extra}\r\n"
    ).encode()


def _answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _token(make_user: MakeUser) -> str:
    return make_user(Role.OPERATOR)["Authorization"].removeprefix("Bearer ")


def test_a_declared_20_mb_body_gets_413_without_sending_it(
    guarded_server: LiveServer, make_user: MakeUser
) -> None:
    with _connect(guarded_server) as sock:
        started = time.monotonic()
        sock.sendall(_head(_token(make_user), f"Content-Length: {20 * 1024 * 1024}\r\n"))
        answer = _answer(sock)
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert time.monotonic() - started < 2


def test_a_chunked_body_is_cut_off_soon_after_the_limit(
    guarded_server: LiveServer, make_user: MakeUser
) -> None:
    with _connect(guarded_server) as sock:
        sock.sendall(_head(_token(make_user), "Transfer-Encoding: chunked\r\n"))
        chunk = b"%x\r\n%s\r\n" % (16384, b"x" * 16384)
        sent = 0
        sock.settimeout(0.05)
        answer = b""
        try:
            while sent < 20 * 1024 * 1024 and not answer:
                sock.sendall(chunk)
                sent += 16384
                try:
                    answer = sock.recv(65536)
                except TimeoutError:
                    continue
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(5)
        answer = answer or _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert sent < 4 * LIMIT + 1024 * 1024  # stopped near the limit, not after 20 MB


def test_a_stalled_body_gets_408(guarded_server: LiveServer, make_user: MakeUser) -> None:
    with _connect(guarded_server) as sock:
        sock.sendall(_head(_token(make_user), "Content-Length: 1000\r\n") + b'{"source": ')
        started = time.monotonic()
        answer = _answer(sock)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert time.monotonic() - started < 5


def test_a_silent_or_slow_head_is_disconnected(guarded_server: LiveServer) -> None:
    for opening in (b"", b"GET /healthz HTTP/1.1\r\nHost: q"):
        with _connect(guarded_server) as sock:
            sock.sendall(opening)
            started = time.monotonic()
            assert sock.recv(1024) == b""  # closed by the server, no answer
            assert time.monotonic() - started < 5


def test_an_unauthenticated_body_is_not_read(guarded_server: LiveServer) -> None:
    with _connect(guarded_server) as sock:
        sock.sendall(
            b"POST /api/v1/tickets HTTP/1.1\r\nHost: qisu\r\nContent-Length: 60000\r\n\r\n"
        )
        answer = _answer(sock)
        assert answer.startswith(b"HTTP/1.1 401"), answer


def test_ordinary_requests_still_pass(guarded_server: LiveServer, make_user: MakeUser) -> None:
    desk = make_user(Role.OPERATOR)
    with httpx.Client(base_url=guarded_server.url, timeout=10) as http:
        assert http.post("/api/v1/tickets", json=ticket_payload(), headers=desk).status_code == 201
        time.sleep(1.5)  # past the keep-alive and head timeouts: a new connection serves
        assert http.get("/api/v1/tickets", headers=desk).status_code == 200
