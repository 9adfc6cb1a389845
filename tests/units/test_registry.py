"""The unit registry: the Jiading default, replacement by another district's file, bad files."""

from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from core.db import session_scope
from core.errors import InvalidInput
from units import service


def test_default_registry_has_all_44_jiading_units(
    client: TestClient, operator: dict[str, str]
) -> None:
    units = client.get("/api/v1/units", headers=operator).json()
    assert len(units) == 44
    assert Counter(u["kind"] for u in units) == {
        "line": 27,
        "subdistrict": 12,
        "utility": 3,
        "coordinator": 2,
    }
    market = next(u for u in units if u["code"] == "market_regulation")
    assert market["name"] == "区市场监督管理局" and "食品安全" in market["duties"]
    anting = next(u for u in units if u["code"] == "anting")
    assert anting["short_name"] == "安亭镇" and anting["duties"]
    towns = client.get("/api/v1/units?kind=subdistrict", headers=operator).json()
    assert len(towns) == 12


def test_units_need_a_token(client: TestClient) -> None:
    assert client.get("/api/v1/units").status_code == 401


def test_load_replaces_and_retires(engine: Engine, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(
        "district: 某区\nunits:\n"
        "  - {code: tax, name: 某区税务局, kind: line, duties: [纳税]}\n"
        "  - {code: town_a, name: 甲镇, kind: subdistrict}\n",
        encoding="utf-8",
    )
    with session_scope(engine, write=True) as session:
        assert service.load_registry(session, path=other) == 2
        active = {u.code: u for u in service.list_units(session)}
        assert set(active) == {"tax", "town_a"}
        assert active["tax"].name == "某区税务局" and active["town_a"].short_name == "甲镇"
        assert len(service.list_units(session, include_inactive=True)) == 45


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("units:\n  - {code: a, name: A, kind: ministry}\n", "units.0.kind"),
        (
            "units:\n  - {code: a, name: A, kind: line}\n  - {code: a, name: B, kind: line}\n",
            "twice",
        ),
        ("units: []\n", "at least 1"),
        ("units: [\n", "无法读取单位名录"),
        ("units:\n  - {code: Bad Code, name: A, kind: line}\n", "units.0.code"),
    ],
)
def test_bad_registry_files_say_what_is_wrong(
    engine: Engine, tmp_path: Path, content: str, says: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with session_scope(engine, write=True) as session, pytest.raises(InvalidInput, match=says):
        service.load_registry(session, path=path)
