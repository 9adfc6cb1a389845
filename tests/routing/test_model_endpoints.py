"""The model registry over HTTP for administrators: the versions and a guarded activation."""

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from classifier.registry import active_name
from core.config import Settings
from models import Role
from tests.conftest import MakeUser


def test_an_administrator_lists_and_activates_versions(
    models_dir: Path, settings: Settings, client: TestClient, make_user: MakeUser
) -> None:
    registry = settings.data_dir / "models"
    shutil.copytree(models_dir, registry)
    active = active_name(registry)
    assert active is not None
    shutil.copytree(registry / active, registry / "copy-of-active")
    admin = make_user(Role.ADMIN)
    listed = client.get("/api/v1/admin/models", headers=admin)
    assert listed.status_code == 200, listed.text
    versions = {v["name"]: v for v in listed.json()}
    assert versions[active]["active"] and not versions["copy-of-active"]["active"]
    assert versions[active]["labels"] > 10
    # The same model scores the same on the active one's held-out rows: the guard lets it in.
    done = client.post("/api/v1/admin/models/copy-of-active/activate", json={}, headers=admin)
    assert done.status_code == 200, done.text
    assert "held-out" in done.json()["message"] and active_name(registry) == "copy-of-active"
    assert [v["name"] for v in done.json()["versions"] if v["active"]] == ["copy-of-active"]
    missing = client.post("/api/v1/admin/models/nope/activate", json={}, headers=admin)
    assert missing.status_code == 404 and "没有该版本" in missing.json()["detail"]
    boss = make_user(Role.SUPERVISOR)
    refused = client.post(f"/api/v1/admin/models/{active}/activate", json={}, headers=boss)
    assert refused.status_code == 403 and active_name(registry) == "copy-of-active"
