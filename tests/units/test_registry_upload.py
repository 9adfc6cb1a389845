"""An administrator loads a registry file over HTTP: checked first, units retired, never deleted."""

import yaml
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Role, Unit
from tests.conftest import MakeUser
from units.service import DEFAULT_REGISTRY


def test_a_registry_file_replaces_the_registry(
    client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    admin = make_user(Role.ADMIN)
    registry = yaml.safe_load(DEFAULT_REGISTRY.read_text(encoding="utf-8"))
    registry["units"] = [u for u in registry["units"] if u["code"] != "tax"]
    response = client.post(
        "/api/v1/admin/units/load", json={"yaml": yaml.safe_dump(registry)}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"units": 43, "retired": ["tax"]}
    with Session(engine) as session:
        tax = session.exec(select(Unit).where(Unit.code == "tax")).one()
        assert not tax.active  # retired, still there for its tickets


def test_a_wrong_file_is_refused_in_chinese_and_changes_nothing(
    client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    admin = make_user(Role.ADMIN)
    for text, says in (
        ("units: [", "不是有效的 YAML"),
        ("units:\n  - code: Bad Code\n    name: x\n    kind: line\n", "单位名录有误"),
        ("district: 嘉定\n", "单位名录有误"),
    ):
        refused = client.post("/api/v1/admin/units/load", json={"yaml": text}, headers=admin)
        assert refused.status_code == 422 and says in refused.json()["detail"], refused.text
    with Session(engine) as session:
        assert all(unit.active for unit in session.exec(select(Unit)))
    operator = make_user(Role.OPERATOR)
    text = DEFAULT_REGISTRY.read_text(encoding="utf-8")
    nope = client.post("/api/v1/admin/units/load", json={"yaml": text}, headers=operator)
    assert nope.status_code == 403
