"""Console sign-in over HTTP: passwords, lockout, the session cookie, CSRF, idle expiry."""

import statistics
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from accounts import service as accounts_service
from accounts.tokens import hash_token
from core.db import session_scope
from models import LoginFailure, Role, User, UserSession, utcnow
from tests.conftest import row_count, ticket_payload

PASSWORD = "correct-horse-7"
SESSION = "/api/v1/session"
LOCKED = "密码连续错误 5 次，账户已锁定，请 15 分钟后再试"
BAD = {"code": "bad_credentials", "detail": "登录名或密码错误"}

MakePerson = Callable[..., str]


@pytest.fixture
def make_person(engine: Engine) -> MakePerson:
    """Create a user with a console login (and the given password); returns the login."""

    def make(login: str, role: Role = Role.OPERATOR, unit: str | None = None) -> str:
        with session_scope(engine, write=True) as session:
            accounts_service.create_user(
                session, name=f"用户{login}", role=role, unit_code=unit, login=login,
                password=PASSWORD,
            )  # fmt: skip
        return login

    return make


def sign_in(client: TestClient, login: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign in and return the CSRF header for later requests; the cookie stays in the client."""
    response = client.post(SESSION, json={"login": login, "password": password})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


def test_sign_in_sets_an_httponly_strict_cookie_and_shows_who(
    client: TestClient, make_person: MakePerson, engine: Engine
) -> None:
    make_person("wangke", Role.UNIT_HANDLER, "market_regulation")
    response = client.post(SESSION, json={"login": " WangKe ", "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["idle_minutes"] == 30 and len(body["csrf_token"]) >= 32
    assert body["user"]["login"] == "wangke" and body["user"]["role"] == "unit_handler"
    assert body["user"]["unit"]["code"] == "market_regulation"
    assert body["user"]["unit"]["kind"] == "line" and body["user"]["unit"]["short_name"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("qisu_session=") and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie and "Path=/" in cookie and "Secure" not in cookie
    token = response.cookies["qisu_session"]
    with Session(engine) as session:
        row = session.exec(select(UserSession)).one()
        assert row.token_hash == hash_token(token) and token not in row.token_hash
        assert row.user_agent == "testclient" and row.expires_at > utcnow()
        user = session.exec(select(User).where(User.login == "wangke")).one()
        assert user.password_hash and user.password_hash.startswith("$argon2id$")
    again = client.get(SESSION)
    assert again.status_code == 200 and again.json() == body
    tickets = client.get("/api/v1/tickets")  # the cookie authenticates the API too
    assert tickets.status_code == 200 and tickets.json()["count"] == 0


def test_secure_cookie_when_configured(make_person: MakePerson, settings: object) -> None:
    from app.main import create_app
    from core.config import Settings

    assert isinstance(settings, Settings)
    make_person("op")
    secure = settings.model_copy(update={"session_secure_cookie": True})
    with TestClient(create_app(secure), base_url="https://testserver") as client:
        response = client.post(SESSION, json={"login": "op", "password": PASSWORD})
        assert response.status_code == 200 and "Secure" in response.headers["set-cookie"]


def test_wrong_password_and_unknown_login_look_the_same(
    client: TestClient, make_person: MakePerson
) -> None:
    make_person("op")

    def attempt(login: str) -> tuple[float, dict[str, str], int]:
        start = time.perf_counter()
        response = client.post(SESSION, json={"login": login, "password": "wrong-password"})
        return time.perf_counter() - start, response.json(), response.status_code

    # Alternate so that a busy moment on the machine hits both alike.
    wrong, unknown = [], []
    for i in range(3):
        wrong.append(attempt("op"))
        unknown.append(attempt(f"nobody{i}"))
    assert all(s == 401 and b == BAD for _, b, s in wrong + unknown)
    assert "set-cookie" not in client.post(SESSION, json={"login": "x", "password": "y"}).headers
    # The unknown login is checked against a dummy hash: no faster than a wrong password.
    wrong_s = statistics.median(t for t, _, _ in wrong)
    unknown_s = statistics.median(t for t, _, _ in unknown)
    assert unknown_s > 0.5 * wrong_s, (wrong_s, unknown_s)


def test_five_wrong_passwords_lock_the_login_until_the_lock_runs_out(
    client: TestClient, make_person: MakePerson, engine: Engine
) -> None:
    make_person("op")
    for _ in range(4):
        response = client.post(SESSION, json={"login": "op", "password": "nope-nope"})
        assert response.status_code == 401 and response.json() == BAD
    fifth = client.post(SESSION, json={"login": "op", "password": "nope-nope"})
    assert fifth.status_code == 423
    assert fifth.json() == {"code": "account_locked", "detail": LOCKED}
    right = client.post(SESSION, json={"login": "op", "password": PASSWORD})
    assert right.status_code == 423 and "set-cookie" not in right.headers
    assert row_count(engine, "user_session") == 0
    with Session(engine) as session:
        row = session.get(LoginFailure, "op")
        assert row is not None and row.locked_until is not None
        remaining = row.locked_until - utcnow()
        assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)
    # Fifteen minutes later (the row moved back instead of sleeping) the right password works
    # and clears the count.
    with session_scope(engine, write=True) as session:
        session.execute(update(LoginFailure).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert client.post(SESSION, json={"login": "op", "password": PASSWORD}).status_code == 200
    with Session(engine) as session:
        assert session.get(LoginFailure, "op") is None


def test_an_expired_lock_counts_afresh(
    client: TestClient, make_person: MakePerson, engine: Engine
) -> None:
    make_person("op")
    for _ in range(5):
        client.post(SESSION, json={"login": "op", "password": "nope-nope"})
    with session_scope(engine, write=True) as session:
        session.execute(update(LoginFailure).values(locked_until=utcnow() - timedelta(minutes=1)))
    again = client.post(SESSION, json={"login": "op", "password": "nope-nope"})
    assert again.status_code == 401  # one failure after the lock, not the sixth in a row
    with Session(engine) as session:
        row = session.get(LoginFailure, "op")
        assert row is not None and row.failures == 1 and row.locked_until is None


def test_an_unknown_login_locks_like_a_known_one(client: TestClient) -> None:
    codes = [
        client.post(SESSION, json={"login": "ghost", "password": "x" * 9}).status_code
        for _ in range(6)
    ]
    assert codes == [401, 401, 401, 401, 423, 423]


def test_lockout_follows_the_settings(make_person: MakePerson, settings: object) -> None:
    from app.main import create_app
    from core.config import Settings

    assert isinstance(settings, Settings)
    make_person("op")
    strict = settings.model_copy(update={"login_max_failures": 2, "login_lockout_minutes": 3})
    with TestClient(create_app(strict)) as client:
        client.post(SESSION, json={"login": "op", "password": "nope-nope"})
        second = client.post(SESSION, json={"login": "op", "password": "nope-nope"})
        assert second.status_code == 423
        assert second.json()["detail"] == "密码连续错误 2 次，账户已锁定，请 3 分钟后再试"


def test_an_inactive_account_is_refused_with_the_right_password_only(
    client: TestClient, make_person: MakePerson, engine: Engine
) -> None:
    make_person("op")
    with session_scope(engine, write=True) as session:
        session.execute(update(User).where(col(User.login) == "op").values(active=False))
    response = client.post(SESSION, json={"login": "op", "password": PASSWORD})
    assert response.status_code == 403
    assert response.json() == {"code": "account_inactive", "detail": "账户已停用，请联系管理员"}
    wrong = client.post(SESSION, json={"login": "op", "password": "nope-nope"})
    assert wrong.status_code == 401 and wrong.json() == BAD


def test_a_machine_user_without_password_cannot_sign_in(client: TestClient, engine: Engine) -> None:
    with session_scope(engine, write=True) as session:
        user, _ = accounts_service.create_user(session, name="robot", role=Role.OPERATOR)
        assert user.login is None and user.password_hash is None
    response = client.post(SESSION, json={"login": "robot", "password": "anything-at-all"})
    assert response.status_code == 401 and response.json() == BAD


def test_without_credentials_the_api_asks_to_sign_in(client: TestClient) -> None:
    for response in (client.get(SESSION), client.get("/api/v1/tickets")):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert response.json()["detail"].startswith("请先登录")


def test_cookie_requests_that_change_things_need_the_csrf_token(
    client: TestClient, make_person: MakePerson, engine: Engine
) -> None:
    make_person("op")
    csrf = sign_in(client, "op")
    refused = {"code": "csrf_failed", "detail": "安全校验失败（页面可能已过期），请刷新页面后重试"}
    missing = client.post("/api/v1/tickets", json=ticket_payload(1))
    assert missing.status_code == 403 and missing.json() == refused
    stale = client.post(
        "/api/v1/tickets", json=ticket_payload(1), headers={"X-CSRF-Token": "old" + "x" * 40}
    )
    assert stale.status_code == 403 and stale.json() == refused
    assert row_count(engine, "ticket") == 0  # nothing written on a refused request
    # Not even the session's last-seen time.
    earlier = utcnow() - timedelta(minutes=10)
    with session_scope(engine, write=True) as session:
        session.execute(update(UserSession).values(last_seen_at=earlier))
    assert client.post("/api/v1/tickets", json=ticket_payload(1)).status_code == 403
    with Session(engine) as session:
        assert session.exec(select(UserSession)).one().last_seen_at == earlier
    made = client.post("/api/v1/tickets", json=ticket_payload(1), headers=csrf)
    assert made.status_code == 201, made.text
    # A second session's token is stale for the first (each session has its own).
    other = TestClient(client.app)
    other_csrf = sign_in(other, "op")
    crossed = client.post("/api/v1/tickets", json=ticket_payload(2), headers=other_csrf)
    assert crossed.status_code == 403 and crossed.json()["code"] == "csrf_failed"


def test_bearer_tokens_need_no_csrf_token(client: TestClient, operator: dict[str, str]) -> None:
    made = client.post("/api/v1/tickets", json=ticket_payload(1), headers=operator)
    assert made.status_code == 201, made.text
    bad = client.get("/api/v1/tickets", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["code"] == "not_authenticated"
    # A bearer token has no console session to show.
    assert client.get(SESSION, headers=operator).status_code == 401


def test_an_idle_session_expires(
    client: TestClient, make_person: MakePerson, engine: Engine
) -> None:
    make_person("op")
    sign_in(client, "op")
    # Ten minutes idle: the next request pushes the expiry back to 30 minutes from now.
    with session_scope(engine, write=True) as session:
        session.execute(
            update(UserSession).values(
                last_seen_at=utcnow() - timedelta(minutes=10),
                expires_at=utcnow() + timedelta(minutes=20),
            )
        )
    assert client.get(SESSION).status_code == 200
    with Session(engine) as session:
        row = session.exec(select(UserSession)).one()
        assert row.expires_at - utcnow() > timedelta(minutes=29)
    # Then 30 minutes without a request: expired.
    with session_scope(engine, write=True) as session:
        session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = {"code": "session_expired", "detail": "登录已超时，请重新登录"}
    for response in (client.get(SESSION), client.get("/api/v1/tickets")):
        assert response.status_code == 401 and response.json() == expired


def test_the_idle_limit_is_configurable(make_person: MakePerson, settings: object) -> None:
    from app.main import create_app
    from core.config import Settings

    assert isinstance(settings, Settings)
    make_person("op")
    short = settings.model_copy(update={"session_idle_minutes": 5})
    with TestClient(create_app(short)) as client:
        body = client.post(SESSION, json={"login": "op", "password": PASSWORD}).json()
        assert body["idle_minutes"] == 5


def test_sign_out_ends_the_session_for_good(
    client: TestClient, make_person: MakePerson, engine: Engine
) -> None:
    make_person("op")
    csrf = sign_in(client, "op")
    token = client.cookies["qisu_session"]
    assert client.delete(SESSION).status_code == 403  # signing out needs the token too
    response = client.delete(SESSION, headers=csrf)
    assert response.status_code == 204
    assert 'qisu_session=""' in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"]
    with Session(engine) as session:
        assert session.exec(select(UserSession)).one().ended_at is not None
    # The old cookie, replayed, is refused on every request: sessions are never cached.
    client.cookies.set("qisu_session", token)
    for response in (client.get(SESSION), client.get("/api/v1/tickets")):
        assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_a_deactivated_user_loses_the_session(
    client: TestClient, make_person: MakePerson, engine: Engine
) -> None:
    make_person("op")
    sign_in(client, "op")
    with session_scope(engine, write=True) as session:
        session.execute(update(User).where(col(User.login) == "op").values(active=False))
    response = client.get("/api/v1/tickets")
    assert response.status_code == 401 and response.json()["code"] == "account_inactive"


@pytest.mark.parametrize(
    ("login", "password", "field"),
    [
        ("op", "short7!", "password"),
        ("op", "12345678901", "password"),
        ("x", "long-enough-1", "login"),
        ("bad login", "long-enough-1", "login"),
    ],
)
def test_weak_passwords_and_odd_logins_are_refused(
    engine: Engine, login: str, password: str, field: str
) -> None:
    from core.errors import InvalidInput

    with session_scope(engine, write=True) as session, pytest.raises(InvalidInput) as refused:
        accounts_service.create_user(
            session, name="某人", role=Role.OPERATOR, login=login, password=password
        )
    assert refused.value.field == field


def test_a_login_is_unique(make_person: MakePerson, engine: Engine) -> None:
    from core.errors import Conflict

    make_person("op")
    with session_scope(engine, write=True) as session, pytest.raises(Conflict) as refused:
        accounts_service.create_user(
            session, name="另一人", role=Role.OPERATOR, login="OP", password=PASSWORD
        )
    assert refused.value.field == "login" and "已被占用" in refused.value.message
