"""User administration over HTTP: create, list, deactivate at once, passwords, roles, tokens."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.main import create_app
from core.config import Settings
from core.db import session_scope
from models import ApiToken, AuditRecord, Role, User, utcnow
from tests.conftest import MakeUser, row_count

USERS = "/api/v1/admin/users"
GOOD = "Desk-pass-2026"
FIELDS = {
    "id", "name", "login", "role", "unit_code", "unit_name", "active", "created_at",
    "last_sign_in_at",
}  # fmt: skip


def _create(client: TestClient, admin: dict[str, str], **body: object) -> dict[str, object]:
    payload = {"name": "王话务", "login": "wanghw", "role": "operator", "password": GOOD} | body
    response = client.post(USERS, json=payload, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def _token_of(client: TestClient, admin: dict[str, str], user_id: object) -> dict[str, str]:
    issued = client.post(
        f"{USERS}/{user_id}/tokens", json={"name": "测试", "days": 7}, headers=admin
    )
    assert issued.status_code == 201, issued.text
    return {"Authorization": f"Bearer {issued.json()['token']}"}


def test_an_administrator_creates_a_user_in_the_documented_shape(
    client: TestClient, make_user: MakeUser
) -> None:
    admin = make_user(Role.ADMIN)
    user = _create(client, admin, role="unit_handler", unit_code="market_regulation")
    assert set(user) == FIELDS
    assert user["login"] == "wanghw" and user["role"] == "unit_handler" and user["active"]
    assert user["unit_code"] == "market_regulation" and user["unit_name"] == "区市场监督管理局"
    assert user["last_sign_in_at"] is None
    signed = client.post("/api/v1/session", json={"login": "wanghw", "password": GOOD})
    assert signed.status_code == 200, signed.text
    listed = client.get(USERS, params={"q": "wanghw"}, headers=admin).json()["items"]
    assert listed[0]["last_sign_in_at"] is not None


def test_a_refused_user_is_not_written_and_the_refusal_names_the_field(
    client: TestClient, make_user: MakeUser, engine: Engine
) -> None:
    admin = make_user(Role.ADMIN)
    _create(client, admin)
    before = row_count(engine, "user")
    cases = [
        ({"login": "li", "password": "short1A"}, 422, "password", "密码至少 8 个字符"),
        ({"login": "li", "password": "alllowercase"}, 422, "password", "密码过于简单"),
        ({"login": "li", "role": "subdistrict", "unit_code": "atlantis"}, 422, "unit_code", "单位"),
        ({"login": "li", "role": "subdistrict"}, 422, "unit_code", "须指明所代表的单位"),
        ({"login": "WangHW"}, 409, "login", "已被占用"),
        ({"login": "li", "name": "王话务"}, 409, "name", "同名"),
    ]
    for change, status, field, says in cases:
        body = {"name": "李话务", "role": "operator", "password": GOOD} | change
        response = client.post(USERS, json=body, headers=admin)
        assert response.status_code == status, (change, response.text)
        assert response.json()["field"] == field and says in response.json()["detail"], change
        assert "atlantis" not in response.text  # the input is not echoed
    assert row_count(engine, "user") == before


def test_the_listing_filters_and_pages(client: TestClient, make_user: MakeUser) -> None:
    admin = make_user(Role.ADMIN)
    _create(client, admin, name="甲", login="jia", role="subdistrict", unit_code="anting")
    _create(client, admin, name="乙", login="yi", role="subdistrict", unit_code="anting")
    third = _create(client, admin, name="丙", login="bing")
    client.post(f"{USERS}/{third['id']}/deactivate", headers=admin)

    def names(**query: str | int) -> list[str]:
        response = client.get(USERS, params=query, headers=admin)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert names(role="subdistrict") == ["甲", "乙"]
    assert names(unit="anting", limit=1, offset=1) == ["乙"]
    assert names(active="false") == ["丙"]
    assert names(q="bin") == ["丙"] and names(q="乙") == ["乙"] and names(q="%") == []
    page = client.get(USERS, params={"role": "subdistrict", "limit": 1}, headers=admin).json()
    assert (page["count"], page["limit"], page["offset"], len(page["items"])) == (2, 1, 0, 1)
    assert client.get(USERS, params={"rol": "x"}, headers=admin).status_code == 422


def test_deactivation_refuses_the_token_and_the_session_on_the_next_request(
    client: TestClient, make_user: MakeUser, settings: Settings
) -> None:
    admin = make_user(Role.ADMIN)
    user = _create(client, admin)
    token = _token_of(client, admin, user["id"])
    assert client.get("/api/v1/triage", headers=token).status_code == 200
    # The user's console, in another app: another worker, with its own memory.
    with TestClient(create_app(settings), raise_server_exceptions=False) as console:
        signed = console.post("/api/v1/session", json={"login": "wanghw", "password": GOOD})
        assert signed.status_code == 200
        assert console.get("/api/v1/triage").status_code == 200
        done = client.post(f"{USERS}/{user['id']}/deactivate", headers=admin)
        assert done.status_code == 200 and done.json()["active"] is False
        assert console.get("/api/v1/triage").status_code == 401
        assert console.get("/api/v1/triage", headers=token).status_code == 401
        again = console.post("/api/v1/session", json={"login": "wanghw", "password": GOOD})
        assert again.status_code == 403 and again.json()["code"] == "account_inactive"
    assert client.get("/api/v1/triage", headers=token).status_code == 401
    back = client.post(f"{USERS}/{user['id']}/reactivate", headers=admin)
    assert back.status_code == 200 and back.json()["active"] is True
    assert client.get("/api/v1/triage", headers=token).status_code == 401  # stays revoked
    assert client.get("/api/v1/triage", headers=_token_of(client, admin, user["id"])).is_success


def test_administrators_do_not_deactivate_or_demote_themselves(
    client: TestClient, make_user: MakeUser, engine: Engine
) -> None:
    admin = make_user(Role.ADMIN)
    with Session(engine) as session:
        me = session.exec(select(User).where(col(User.role) == Role.ADMIN)).one()
    for path, body in (("deactivate", None), ("role", {"role": "operator"})):
        method = client.post if path == "deactivate" else client.put
        response = method(f"{USERS}/{me.id}/{path}", json=body, headers=admin)
        assert response.status_code == 409 and response.json()["code"] == "own_account"


def test_a_new_password_follows_the_rules_and_ends_the_sessions(
    client: TestClient, make_user: MakeUser
) -> None:
    admin = make_user(Role.ADMIN)
    user = _create(client, admin)
    path = f"{USERS}/{user['id']}/password"
    weak = client.put(path, json={"password": "abcdefgh1"}, headers=admin)
    assert weak.status_code == 422 and weak.json()["field"] == "password"
    with TestClient(client.app, raise_server_exceptions=False) as console:
        assert console.post(
            "/api/v1/session", json={"login": "wanghw", "password": GOOD}
        ).is_success
        changed = client.put(path, json={"password": "New-desk-pass-9"}, headers=admin)
        assert changed.status_code == 204 and changed.content == b""
        assert console.get("/api/v1/session").status_code == 401
    old = client.post("/api/v1/session", json={"login": "wanghw", "password": GOOD})
    assert old.status_code == 401
    new = client.post("/api/v1/session", json={"login": "wanghw", "password": "New-desk-pass-9"})
    assert new.status_code == 200


def test_a_new_role_holds_from_the_next_request(client: TestClient, make_user: MakeUser) -> None:
    admin = make_user(Role.ADMIN)
    user = _create(client, admin)
    token = _token_of(client, admin, user["id"])
    assert client.get("/api/v1/triage", headers=token).status_code == 200
    path = f"{USERS}/{user['id']}/role"
    missing = client.put(path, json={"role": "unit_handler"}, headers=admin)
    assert missing.status_code == 422 and missing.json()["field"] == "unit_code"
    body = {"role": "unit_handler", "unit_code": "tax"}
    changed = client.put(path, json=body, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "unit_handler" and changed.json()["unit_code"] == "tax"
    assert client.get("/api/v1/triage", headers=token).status_code == 403


def test_tokens_are_named_expire_and_are_revoked_at_once(
    client: TestClient, make_user: MakeUser, engine: Engine
) -> None:
    admin = make_user(Role.ADMIN)
    user = _create(client, admin)
    tokens_path = f"{USERS}/{user['id']}/tokens"
    issued = client.post(tokens_path, json={"name": "对接脚本", "days": 30}, headers=admin)
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["name"] == "对接脚本" and body["active"] and len(body["token"]) >= 40
    expires = body["expires_at"]
    listed = client.get(tokens_path, headers=admin).json()
    assert [t["name"] for t in listed] == ["对接脚本", "初始令牌"]  # newest first
    assert all("token" not in t for t in listed) and listed[0]["expires_at"] == expires
    with Session(engine) as session:
        row = session.get(ApiToken, body["id"])
        assert row is not None and row.expires_at - row.created_at == timedelta(days=30)
        assert row.token_hash != body["token"]
    header = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/triage", headers=header).status_code == 200
    too_long = client.post(tokens_path, json={"name": "x", "days": 366}, headers=admin)
    assert too_long.status_code == 422 and too_long.json()["field"] == "days"
    # Expiry: the same token, its time run out.
    with session_scope(engine, write=True) as session:
        session.execute(
            update(ApiToken)
            .where(col(ApiToken.id) == body["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert client.get("/api/v1/triage", headers=header).status_code == 401
    second = _token_of(client, admin, user["id"])
    second_id = client.get(tokens_path, headers=admin).json()[0]["id"]
    other = _create(client, admin, name="另一人", login="other")
    wrong = client.delete(f"{USERS}/{other['id']}/tokens/{second_id}", headers=admin)
    assert wrong.status_code == 404
    assert client.get("/api/v1/triage", headers=second).status_code == 200
    revoked = client.delete(f"{tokens_path}/{second_id}", headers=admin)
    assert revoked.status_code == 204
    assert client.get("/api/v1/triage", headers=second).status_code == 401
    assert client.get(tokens_path, headers=admin).json()[0]["revoked_at"] is not None


def test_every_change_is_in_the_audit_log(
    client: TestClient, make_user: MakeUser, engine: Engine
) -> None:
    admin = make_user(Role.ADMIN)
    user = _create(client, admin)
    base = f"{USERS}/{user['id']}"
    client.post(f"{base}/deactivate", headers=admin)
    client.post(f"{base}/reactivate", headers=admin)
    client.put(f"{base}/password", json={"password": "New-desk-pass-9"}, headers=admin)
    client.put(f"{base}/role", json={"role": "supervisor"}, headers=admin)
    client.post(f"{base}/tokens", json={"name": "n", "days": 1}, headers=admin)
    with Session(engine) as session:
        rows = list(session.exec(select(AuditRecord).order_by(col(AuditRecord.seq))))
    actions = [(r.action, r.target, r.outcome, r.role) for r in rows]
    target = f"user:{user['id']}"
    assert actions == [
        (action, target, "success", "admin")
        for action in (
            "user_create", "user_deactivate", "user_reactivate", "user_password", "user_role",
            "token_issue",
        )
    ]  # fmt: skip
    assert all(r.address == "testclient" and r.actor.startswith("admin") for r in rows)
    assert "operator/- -> supervisor/-" in (rows[4].detail or "")
