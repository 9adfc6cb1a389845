"""The security audit log over HTTP: what is recorded, who reads it, filters, export, the chain."""

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from accounts import service as accounts_service
from core.db import session_scope
from models import Role
from tests.conftest import MakeUser

RECORDS = "/api/v1/audit/records"
PASSWORD = "Audit-pass-2026"


def _person(engine: Engine, login: str, role: Role = Role.OPERATOR) -> None:
    with session_scope(engine, write=True) as session:
        accounts_service.create_user(
            session, name=f"用户{login}", role=role, login=login, password=PASSWORD
        )


def test_sign_ins_refusals_and_reads_are_recorded_and_only_the_auditor_reads_them(
    client: TestClient, make_user: MakeUser, engine: Engine
) -> None:
    auditor, admin, unit = (
        make_user(Role.AUDITOR),
        make_user(Role.ADMIN),
        make_user(Role.UNIT_HANDLER, "tax"),
    )
    _person(engine, "zhang")
    assert (
        client.post("/api/v1/session", json={"login": "zhang", "password": "wrong"}).status_code
        == 401
    )
    assert client.post("/api/v1/session", json={"login": "zhang", "password": PASSWORD}).is_success
    client.cookies.clear()
    assert client.get("/api/v1/triage", headers=unit).status_code == 403
    # Separation of duties: the administrator is refused the log, the auditor everything else.
    assert client.get(RECORDS, headers=admin).status_code == 403
    assert client.get("/api/v1/tickets", headers=auditor).status_code == 403
    assert client.get("/api/v1/admin/users", headers=auditor).status_code == 403

    page = client.get(RECORDS, params={"limit": 200}, headers=auditor)
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    seen = [(r["action"], r["outcome"], r["actor"], r["target"]) for r in reversed(items)]
    assert seen[:2] == [
        ("sign_in", "failure", "login:zhang", None),
        ("sign_in", "success", "用户zhang", seen[1][3]),
    ]
    assert seen[1][3].startswith("session:")
    refusals = [(r[2].split("-")[0], r[3]) for r in seen[2:]]
    assert refusals == [
        ("unit_handler", "GET /api/v1/triage"),
        ("admin", "GET /api/v1/audit/records"),
        ("auditor", "GET /api/v1/tickets"),
        ("auditor", "GET /api/v1/admin/users"),
    ]
    assert all(r["address"] == "testclient" and r["at"] and len(r["hash"]) == 64 for r in items)
    assert items[0]["detail"] == "forbidden" and items[-1]["detail"] == "bad_credentials"

    def count(**query: str) -> int:
        response = client.get(RECORDS, params=query, headers=auditor)
        assert response.status_code == 200, response.text
        return int(response.json()["count"])

    assert count(action="sign_in") == 2 and count(outcome="failure") == 1
    assert count(actor="login:zhang") == 1 and count(target="GET /api/v1/triage") == 1
    assert count(**{"from": "2000-01-01", "to": "2000-01-02"}) == 0
    assert count(outcome="refused", limit="2") == 4
    assert client.get(RECORDS, params={"acton": "x"}, headers=auditor).status_code == 422


def test_the_auditor_exports_and_verifies_the_chain(
    client: TestClient, make_user: MakeUser, engine: Engine
) -> None:
    auditor = make_user(Role.AUDITOR)
    _person(engine, "li")
    for password in ("wrong", "wrong again", PASSWORD):
        client.post("/api/v1/session", json={"login": "li", "password": password})
    exported = client.get(f"{RECORDS}/export", params={"action": "sign_in"}, headers=auditor)
    assert exported.status_code == 200 and exported.content.startswith("\ufeff".encode())
    assert "qisu-audit.csv" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["序号", "时间", "操作人", "角色", "操作"]
    assert [row[5] for row in rows[1:]] == ["failure", "failure", "success"]  # oldest first
    assert [row[1] for row in rows[1:]] == sorted(row[1] for row in rows[1:])
    verified = client.get("/api/v1/audit/verify", headers=auditor).json()
    # Three sign-ins and the export's own record.
    assert verified == {"ok": True, "count": 4, "head": verified["head"], "problems": []}
    with session_scope(engine, write=True) as session:
        session.execute(text("UPDATE audit_record SET outcome = 'success' WHERE seq = 1"))
    broken = client.get("/api/v1/audit/verify", headers=auditor).json()
    assert not broken["ok"] and broken["problems"] == ["第 1 条记录的内容与其哈希不符（被改动）"]


def test_a_record_names_no_password(
    client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    auditor = make_user(Role.AUDITOR)
    _person(engine, "wang")
    client.post("/api/v1/session", json={"login": "wang", "password": "Secret-typo-1"})
    body = client.get(RECORDS, headers=auditor).text
    assert "Secret-typo-1" not in body
