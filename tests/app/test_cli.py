"""The `qisu` command line, run as a real process."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, select

from accounts import passwords, tokens
from accounts import service as accounts_service
from app.setup import prepare_database
from core.db import make_engine, session_scope
from core.timezone import SHANGHAI
from deadlines.policy import load_policy
from models import ApiToken, Role, RollupDay, Ticket, User, utcnow
from routing.model import ServingModel
from routing.settings import RoutingSettings
from tests.conftest import ticket_payload
from tickets import connectors
from tickets.schemas import TicketCreate
from tickets.service import intake

COMMANDS = [
    [],
    ["serve"],
    ["db"],
    ["db", "upgrade"],
    ["db", "backup"],
    ["db", "restore"],
    ["units"],
    ["units", "load"],
    ["users"],
    ["users", "create"],
    ["users", "list"],
    ["users", "deactivate"],
    ["users", "reactivate"],
    ["users", "rotate-token"],
    ["users", "set-role"],
    ["users", "set-password"],
    ["users", "reset-totp"],
    ["audit"],
    ["audit", "verify"],
    ["data"],
    ["data", "purge"],
    ["demo"],
    ["demo", "load"],
    ["demo", "clear"],
    ["scheduler"],
    ["sla"],
    ["sla", "sweep"],
    ["sla", "check"],
    ["sla", "recompute"],
    ["classifier"],
    ["classifier", "base"],
    ["classifier", "train"],
    ["classifier", "predict"],
    ["classifier", "evaluate"],
    ["model"],
    ["model", "list"],
    ["model", "activate"],
    ["model", "build-default"],
    ["model", "retrain-repeats"],
    ["routing"],
    ["routing", "export-feedback"],
    ["dashboard"],
    ["dashboard", "rollup"],
]


def qisu(*args: str, data_dir: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QISU_DATA_DIR": str(data_dir), "QISU_DATABASE_URL": ""}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "qisu")
def test_every_command_has_help(command: list[str], tmp_path: Path) -> None:
    result = qisu(*command, "--help", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout and len(result.stdout.splitlines()) > 3


@pytest.mark.usefixtures("migrated")
def test_dashboard_rollup_rolls_every_complete_day_and_can_run_again(tmp_path: Path) -> None:
    since = (utcnow().astimezone(SHANGHAI).date() - timedelta(days=3)).isoformat()
    for _ in range(2):  # idempotent
        result = qisu("dashboard", "rollup", "--since", since, data_dir=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "rolled up 3 days" in result.stdout and f"{since}: 0 counts" in result.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'qisu.db'}")
    with Session(engine) as session:
        assert len(session.exec(select(RollupDay)).all()) == 3
    wrong = qisu("dashboard", "rollup", "--since", "yesterday", data_dir=tmp_path)
    assert wrong.returncode != 0 and "not a date" in wrong.stderr


@pytest.mark.usefixtures("migrated")
def test_users_create_prints_the_token_last(tmp_path: Path) -> None:
    result = qisu(
        "users",
        "create",
        "--name",
        "王科长",
        "--role",
        "unit_handler",
        "--unit",
        "tax",
        data_dir=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    engine = make_engine(f"sqlite:///{tmp_path / 'qisu.db'}")
    with Session(engine) as session:
        user = tokens.user_for_token(session, token=token)
        assert user is not None and user.name == "王科长" and user.unit_code == "tax"
        assert token not in {t.token_hash for t in session.exec(select(ApiToken))}


@pytest.mark.usefixtures("migrated")
def test_users_create_with_a_console_login(tmp_path: Path) -> None:
    result = qisu(
        "users", "create", "--name", "李话务", "--role", "operator", "--login", "Li.Hw",
        "--password-stdin", data_dir=tmp_path, stdin="s3cret-pass\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "signs in as li.hw" in result.stderr and "s3cret-pass" not in result.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'qisu.db'}")
    with Session(engine) as session:
        user = session.exec(select(User).where(User.login == "li.hw")).one()
        assert user.password_hash and passwords.verify("s3cret-pass", user.password_hash)


@pytest.mark.usefixtures("migrated")
@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (["--login", "li", "--password-stdin"], "short\n", "密码至少 8 个字符"),
        (["--login", "li", "--password-stdin"], "12345678\n", "密码不能全是数字"),
        (["--login", "li"], None, "--login needs --password-stdin"),
        (["--password-stdin"], "long-enough\n", "--password-stdin needs --login"),
    ],
)
def test_users_create_refuses_a_weak_password(
    args: list[str], stdin: str | None, says: str, tmp_path: Path
) -> None:
    result = qisu(
        "users", "create", "--name", "x", "--role", "operator", *args,
        data_dir=tmp_path, stdin=stdin,
    )  # fmt: skip
    assert result.returncode == 2 and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("migrated")
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--role", "unit_handler"], "须指明所代表的单位"),
        (["--role", "subdistrict", "--unit", "tax"], "不能代表 line 类单位"),
        (["--role", "operator", "--unit", "tax"], "请不要给出单位"),
        (["--role", "unit_handler", "--unit", "atlantis"], "没有这个代码的在用单位"),
        (["--role", "king"], "Invalid value"),
    ],
)
def test_users_create_refuses_bad_input(args: list[str], says: str, tmp_path: Path) -> None:
    result = qisu("users", "create", "--name", "x", *args, data_dir=tmp_path)
    assert result.returncode == 2
    assert says in result.stderr and "Traceback" not in result.stderr


def test_units_load_reports_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("units:\n  - {code: a, name: A, kind: ministry}\n", encoding="utf-8")
    result = qisu("units", "load", str(bad), data_dir=tmp_path)
    assert result.returncode == 2 and "units.0.kind" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_refuses_a_database_with_real_tickets_and_clears_nothing_of_it(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'qisu.db'}")
    prepare_database(engine)
    with session_scope(engine, write=True) as session:
        user, _ = accounts_service.create_user(session, name="desk", role=Role.OPERATOR)
        intake(
            session,
            data=TicketCreate.model_validate(ticket_payload(1)),
            user=user,
            connectors=connectors.NONE,
            policy=load_policy(),
            routing=RoutingSettings(),
            serving=ServingModel(None),
        )
    refused = qisu("demo", "load", data_dir=tmp_path)
    assert refused.returncode == 2 and "not demo data" in refused.stderr, refused.stderr
    cleared = qisu("demo", "clear", data_dir=tmp_path)
    assert cleared.returncode == 0, cleared.stderr
    with Session(engine) as session:
        assert len(session.exec(select(Ticket)).all()) == 1
        assert len(session.exec(select(User)).all()) == 1


def test_export_feedback_refuses_other_file_kinds(tmp_path: Path) -> None:
    result = qisu("routing", "export-feedback", str(tmp_path / "out.xlsx"), data_dir=tmp_path)
    assert result.returncode == 2 and "name a .csv or .jsonl file" in result.stderr
    bad = qisu(
        "routing", "export-feedback", str(tmp_path / "o.csv"), "--from", "x", data_dir=tmp_path
    )
    assert bad.returncode == 2 and "--from 'x' is not an ISO 8601 instant" in bad.stderr


def test_only_serve_and_db_upgrade_migrate(tmp_path: Path) -> None:
    refused = qisu("users", "list", data_dir=tmp_path)
    assert refused.returncode == 2
    assert "数据库结构不是最新" in refused.stderr and "qisu db upgrade" in refused.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'qisu.db'}")
    assert inspect(engine).get_table_names() == []  # the refusal changed nothing
    engine.dispose()
    assert qisu("db", "upgrade", data_dir=tmp_path).returncode == 0
    assert qisu("users", "list", data_dir=tmp_path).returncode == 0
