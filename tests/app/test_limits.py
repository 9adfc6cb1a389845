"""Finding 1: the body limit is enforced while reading, and the caller is known before the body."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.main import create_app
from core.config import Settings
from tests.conftest import ticket_payload

LIMIT = 64 * 1024


@pytest.fixture
def small_client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    """An app whose body limit is 64 KiB."""
    settings = Settings(
        embedded_scheduler=False,
        database_url=engine.url.render_as_string(hide_password=False),
        data_dir=tmp_path,
        max_body_bytes=LIMIT,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_a_declared_oversized_body_is_refused_before_it_is_read(
    small_client: TestClient, operator: dict[str, str]
) -> None:
    read: list[int] = []

    def body() -> Iterator[bytes]:
        read.append(1)
        yield b"{}"

    headers = {**operator, "Content-Length": str(20 * 1024 * 1024)}
    response = small_client.post("/api/v1/tickets", content=body(), headers=headers)
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"
    assert str(LIMIT) in response.json()["detail"]


def test_a_chunked_body_is_cut_off_at_the_limit(
    small_client: TestClient, operator: dict[str, str]
) -> None:
    # The test client gathers the whole stream first; tests/integration/test_limits_live.py
    # shows over real HTTP that the server stops reading at the limit.
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 16384

    response = small_client.post("/api/v1/tickets", content=chunks(), headers=operator)
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"


def test_a_body_under_the_limit_passes(small_client: TestClient, operator: dict[str, str]) -> None:
    response = small_client.post("/api/v1/tickets", json=ticket_payload(), headers=operator)
    assert response.status_code == 201, response.text


def test_the_default_limit_is_one_mebibyte() -> None:
    assert Settings().max_body_bytes == 1024 * 1024


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}],
    ids=["missing", "unknown", "not-bearer"],
)
def test_the_caller_is_refused_before_the_body_is_read(
    client: TestClient, headers: dict[str, str]
) -> None:
    read: list[int] = []

    def body() -> Iterator[bytes]:
        read.append(1)
        yield b"{not json at all"

    response = client.post("/api/v1/tickets", content=body(), headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "not_authenticated"
    assert read == []  # not one byte was asked for


def test_public_routes_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").status_code == 200
