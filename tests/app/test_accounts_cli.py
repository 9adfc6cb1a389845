"""`qisu users …` and `qisu audit verify` as an operator of the server runs them."""

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from accounts import tokens
from core.db import make_engine, session_scope
from models import AuditRecord, User
from tests.app.test_cli import qisu


def _user(tmp_path: Path, login: str) -> User:
    with Session(make_engine(f"sqlite:///{tmp_path / 'qisu.db'}")) as session:
        return session.exec(select(User).where(User.login == login)).one()


def _works(tmp_path: Path, token: str) -> bool:
    with Session(make_engine(f"sqlite:///{tmp_path / 'qisu.db'}")) as session:
        return tokens.user_for_token(session, token=token) is not None


@pytest.mark.usefixtures("migrated")
def test_users_are_listed_deactivated_reactivated_rotated_and_given_roles(
    tmp_path: Path,
) -> None:
    created = qisu(
        "users", "create", "--name", "李话务", "--role", "operator", "--login", "li",
        "--password-stdin", data_dir=tmp_path, stdin="Li-desk-2026\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    first = created.stdout.strip().splitlines()[-1]
    assert _works(tmp_path, first)

    listed = qisu("users", "list", "--role", "operator", data_dir=tmp_path)
    assert listed.returncode == 0 and "li " in listed.stdout and "李话务" in listed.stdout
    assert "1 users" in listed.stderr
    assert "李话务" not in qisu("users", "list", "--inactive", data_dir=tmp_path).stdout

    done = qisu("users", "deactivate", "li", data_dir=tmp_path)
    assert done.returncode == 0 and "deactivated 李话务" in done.stdout
    assert not _works(tmp_path, first) and not _user(tmp_path, "li").active
    assert "INACTIVE" in qisu("users", "list", "--inactive", data_dir=tmp_path).stdout

    assert qisu("users", "reactivate", "李话务", data_dir=tmp_path).returncode == 0
    assert _user(tmp_path, "li").active and not _works(tmp_path, first)
    rotated = qisu("users", "rotate-token", "li", "--days", "10", data_dir=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip().splitlines()[-1]
    assert _works(tmp_path, new) and new != first

    moved = qisu("users", "set-role", "li", "--role", "unit_handler", "--unit", "tax",
                 data_dir=tmp_path)  # fmt: skip
    assert moved.returncode == 0 and "unit_handler of tax" in moved.stdout
    user = _user(tmp_path, "li")
    assert (user.role, user.unit_code) == ("unit_handler", "tax")
    refused = qisu("users", "set-role", "li", "--role", "subdistrict", data_dir=tmp_path)
    assert refused.returncode == 2 and "须指明所代表的单位" in refused.stderr
    unknown = qisu("users", "deactivate", "nobody", data_dir=tmp_path)
    assert unknown.returncode == 2 and "没有" in unknown.stderr

    weak = qisu("users", "set-password", "li", data_dir=tmp_path, stdin="password\n")
    assert weak.returncode == 2 and "密码过于简单" in weak.stderr
    assert (
        qisu("users", "set-password", "li", data_dir=tmp_path, stdin="Li-new-2026\n").returncode
        == 0
    )

    with Session(make_engine(f"sqlite:///{tmp_path / 'qisu.db'}")) as session:
        rows = list(session.exec(select(AuditRecord).order_by(col(AuditRecord.seq))))
    assert [r.action for r in rows] == [
        "user_create", "user_deactivate", "user_reactivate", "token_issue", "user_role",
        "user_password",
    ]  # fmt: skip
    assert all(r.actor.startswith("cli:") and r.address == "local" for r in rows)


@pytest.mark.usefixtures("migrated")
def test_audit_verify_finds_an_edited_and_a_deleted_record(tmp_path: Path) -> None:
    qisu("users", "create", "--name", "机器", "--role", "operator", data_dir=tmp_path)
    for _ in range(3):
        assert qisu("users", "rotate-token", "机器", data_dir=tmp_path).returncode == 0
    whole = qisu("audit", "verify", data_dir=tmp_path)
    assert whole.returncode == 0 and "4 records" in whole.stdout and "whole" in whole.stdout

    engine = make_engine(f"sqlite:///{tmp_path / 'qisu.db'}")
    with session_scope(engine, write=True) as session:
        session.execute(text("UPDATE audit_record SET detail = 'token=1' WHERE seq = 2"))
    edited = qisu("audit", "verify", data_dir=tmp_path)
    assert edited.returncode == 1 and "第 2 条记录的内容与其哈希不符" in edited.stderr

    # The edit undone by recomputing its hash still breaks the chain at the next record.
    with session_scope(engine, write=True) as session:
        session.execute(text("UPDATE audit_record SET hash = :h WHERE seq = 2"), {"h": "f" * 64})
    rehashed = qisu("audit", "verify", data_dir=tmp_path)
    assert rehashed.returncode == 1 and "第 3 条记录的前序哈希不符" in rehashed.stderr

    with session_scope(engine, write=True) as session:
        session.execute(text("DELETE FROM audit_record WHERE seq IN (2, 3)"))
    deleted = qisu("audit", "verify", data_dir=tmp_path)
    assert deleted.returncode == 1 and "第 2–3 条记录缺失" in deleted.stderr


@pytest.mark.usefixtures("migrated")
def test_data_purge_dry_run_counts_and_writes_nothing(tmp_path: Path) -> None:
    dry = qisu("data", "purge", "--dry-run", data_dir=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "would anonymise the contacts of 0 tickets" in dry.stdout
    real = qisu("data", "purge", "--now", "2030-01-01T00:00:00+08:00", data_dir=tmp_path)
    assert (
        real.returncode == 0
        and "anonymised the contacts of 0 tickets closed before 2027-01-02" in real.stdout
    )
    with Session(make_engine(f"sqlite:///{tmp_path / 'qisu.db'}")) as session:
        actions = [r.action for r in session.exec(select(AuditRecord))]
    assert actions == ["data_purge"]  # the real run is audited, the dry one is not
