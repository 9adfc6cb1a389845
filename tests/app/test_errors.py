"""Item 7 of issue 11: a duplicate key is a 409 to retry; any other failure a logged JSON 500."""

import sqlite3
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from app.main import create_app
from core.config import Settings
from core.db import is_unique_clash


def _refusal_of(statement: str) -> IntegrityError:
    """The error a real SQLite database raises for the statement, as SQLAlchemy wraps it."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
    db.execute("INSERT INTO t (name) VALUES ('a')")
    try:
        db.execute(statement)
    except sqlite3.IntegrityError as exc:
        return IntegrityError(statement, {}, exc)
    raise AssertionError(f"{statement} was accepted")


DUPLICATE = "INSERT INTO t (name) VALUES ('a')"
MISSING = "INSERT INTO t (name) VALUES (NULL)"


@pytest.fixture
def failing(settings: Settings) -> Iterator[TestClient]:
    """The app with three routes that fail as a defect or a race would."""
    app = create_app(settings)

    def duplicate() -> None:
        raise _refusal_of(DUPLICATE)

    def missing() -> None:
        raise _refusal_of(MISSING)

    def broken() -> None:
        raise RuntimeError("a defect")

    for path, endpoint in (("duplicate", duplicate), ("missing", missing), ("broken", broken)):
        # First, before the console's catch-all route.
        app.router.routes.insert(0, APIRoute(f"/healthz/{path}", endpoint, methods=["GET"]))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_a_duplicate_key_is_told_apart_from_a_broken_constraint() -> None:
    assert is_unique_clash(_refusal_of(DUPLICATE))
    assert not is_unique_clash(_refusal_of(MISSING))


def test_a_duplicate_key_is_a_409_to_retry(failing: TestClient) -> None:
    response = failing.get("/healthz/duplicate")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict" and "重试" in response.json()["detail"]


def test_a_broken_constraint_is_a_logged_500_not_a_409(
    failing: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = failing.get("/healthz/missing")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert any("NOT NULL" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_an_unexpected_failure_answers_in_the_one_error_shape(failing: TestClient) -> None:
    response = failing.get("/healthz/broken")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "internal_error" and "日志" in body["detail"]
    assert "a defect" not in response.text  # nothing internal leaks to the caller
