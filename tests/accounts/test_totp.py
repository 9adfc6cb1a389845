"""The second factor: RFC 6238's own test vectors, and enrolment and sign-in over HTTP."""

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from accounts import service as accounts_service
from accounts import totp
from core.db import session_scope
from models import Role, utcnow
from tests.conftest import MakeUser

SESSION = "/api/v1/session"
PASSWORD = "Boss-pass-2026"
# RFC 6238 appendix B: the SHA-1 seed and 8-digit codes at these times.
SEED = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("seconds", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (20000000000, "65353130"),
    ],
)
def test_the_rfc_6238_vectors(seconds: int, code: str) -> None:
    at = datetime.fromtimestamp(seconds, tz=UTC)
    assert totp.hotp(SEED, totp.step(at), digits=8) == code


def test_a_code_matches_within_one_step_of_drift() -> None:
    now = datetime(2026, 12, 1, 12, 0, 10, tzinfo=UTC)
    secret = totp.new_secret()
    for offset in (-30, 0, 30):
        assert totp.matching_step(
            secret, totp.code_at(secret, now + timedelta(seconds=offset)), now
        )
    assert (
        totp.matching_step(secret, totp.code_at(secret, now + timedelta(seconds=90)), now) is None
    )
    assert totp.matching_step(secret, "12a456", now) is None


def _person(engine: Engine, login: str, role: Role) -> None:
    with session_scope(engine, write=True) as session:
        accounts_service.create_user(
            session, name=f"用户{login}", role=role, login=login, password=PASSWORD
        )


def _sign_in(client: TestClient, login: str, code: str | None = None) -> tuple[int, Any]:
    body = {"login": login, "password": PASSWORD} | ({"totp": code} if code else {})
    response = client.post(SESSION, json=body)
    return response.status_code, response.json()


def test_a_supervisor_enrols_and_then_signs_in_with_a_code_once(
    client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    _person(engine, "boss", Role.SUPERVISOR)
    status, body = _sign_in(client, "boss")
    assert status == 200 and body["user"]["second_factor"] is False
    csrf = {"X-CSRF-Token": body["csrf_token"]}
    started = client.post(f"{SESSION}/totp", headers=csrf)
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["uri"].startswith("otpauth://totp/qisu%3Aboss?secret=" + secret)
    wrong = client.post(f"{SESSION}/totp/confirm", json={"code": "000000"}, headers=csrf)
    assert wrong.status_code == 422 and wrong.json()["field"] == "code"
    code = totp.code_at(secret, utcnow())
    confirmed = client.post(f"{SESSION}/totp/confirm", json={"code": code}, headers=csrf)
    assert confirmed.status_code == 204, confirmed.text
    client.cookies.clear()

    status, body = _sign_in(client, "boss")
    assert status == 401 and body["code"] == "totp_required" and body["field"] == "totp"
    assert _sign_in(client, "boss", "123456")[1]["code"] == "bad_totp"
    assert _sign_in(client, "boss", code)[1]["code"] == "bad_totp"  # the enrolment's code
    later = totp.code_at(secret, utcnow() + timedelta(seconds=30))
    status, body = _sign_in(client, "boss", later)
    assert status == 200 and body["user"]["second_factor"] is True
    client.cookies.clear()
    assert _sign_in(client, "boss", later)[1]["code"] == "bad_totp"  # a code signs in once

    admin = make_user(Role.ADMIN)
    users = client.get("/api/v1/admin/users", params={"q": "boss"}, headers=admin).json()
    reset = client.delete(f"/api/v1/admin/users/{users['items'][0]['id']}/totp", headers=admin)
    assert reset.status_code == 204
    assert _sign_in(client, "boss")[0] == 200


def test_wrong_codes_count_towards_the_lockout(client: TestClient, engine: Engine) -> None:
    _person(engine, "chief", Role.ADMIN)
    csrf = {"X-CSRF-Token": _sign_in(client, "chief")[1]["csrf_token"]}
    secret = client.post(f"{SESSION}/totp", headers=csrf).json()["secret"]
    code = totp.code_at(secret, utcnow())
    assert client.post(f"{SESSION}/totp/confirm", json={"code": code}, headers=csrf).is_success
    client.cookies.clear()
    answers = [_sign_in(client, "chief", "000000") for _ in range(5)]
    assert [status for status, _ in answers] == [401, 401, 401, 401, 423]


def test_an_operator_has_no_second_factor(client: TestClient, engine: Engine) -> None:
    _person(engine, "desk", Role.OPERATOR)
    csrf = {"X-CSRF-Token": _sign_in(client, "desk")[1]["csrf_token"]}
    refused = client.post(f"{SESSION}/totp", headers=csrf)
    assert refused.status_code == 409 and refused.json()["code"] == "totp_not_available"
