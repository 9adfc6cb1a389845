"""`qisu platform check`, `qisu open311 add-client` and a wrong connector at `qisu serve`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.db import make_engine
from models import Open311Client
from tests.integrations.connector import SHIPPED, connector_text
from tickets import open311


def qisu(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


@pytest.mark.parametrize(
    "command", [["platform"], ["platform", "check"], ["open311"], ["open311", "add-client"]]
)
def test_every_command_has_help(command: list[str]) -> None:
    result = qisu(*command, "--help")
    assert result.returncode == 0 and "Usage" in result.stdout


def test_platform_check_accepts_the_shipped_file_and_names_the_line_of_a_wrong_one(
    tmp_path: Path,
) -> None:
    good = qisu("platform", "check", str(SHIPPED))
    assert good.returncode == 0 and "valid; source sh12345" in good.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        connector_text()
        .replace("  lxr", "  lxr")
        .replace("contact_name: lxr", "contact_name: [lxr]")
    )
    refused = qisu("platform", "check", str(bad))
    assert refused.returncode == 2 and "line 14 (fields.contact_name)" in refused.stderr


def test_serve_refuses_to_start_with_a_wrong_connector(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(connector_text().replace('"1": normal', '"1": relaxed'))
    result = qisu(
        "serve",
        QISU_DATA_DIR=str(tmp_path),
        QISU_PLATFORM_SOURCES=f'["{bad}"]',
        QISU_PLATFORM_SECRETS='{"sh12345": "s"}',
    )
    assert result.returncode == 2 and "line 32" in result.stderr and "relaxed" in result.stderr


@pytest.mark.usefixtures("migrated")
def test_add_client_prints_a_key_stored_only_hashed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'qisu.db'}"
    result = qisu(
        "open311", "add-client", "fixmystreet", QISU_DATABASE_URL=url, QISU_DATA_DIR=str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    engine = make_engine(url)
    with Session(engine) as session:
        client = session.exec(select(Open311Client)).one()
    engine.dispose()
    assert client.name == "fixmystreet" and client.key_hash == open311.hash_key(key)
    again = qisu(
        "open311", "add-client", "fixmystreet", QISU_DATABASE_URL=url, QISU_DATA_DIR=str(tmp_path)
    )
    assert again.returncode == 2 and "已有名为" in again.stderr
