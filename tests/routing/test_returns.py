"""A 街镇's return reason names the unit the matter belongs to, by name, short name or alias."""

import pytest
from sqlalchemy import Engine

from core.db import session_scope
from routing.returns import named_units
from units.service import DEFAULT_REGISTRY, read_registry


@pytest.mark.parametrize(
    ("reason", "units"),
    [
        ("属于市场监管部门职责，请转市监局", ["market_regulation"]),
        ("不属于街镇职权，应由区人社局处理", ["hrss"]),
        ("此事归住建委或者建管委管", ["construction"]),
        (
            "涉及规资局的用地审批，另需城管执法局查处违建",
            ["planning_resources", "urban_management"],
        ),
        ("不属于税务部门，应由财政局拨付", ["finance"]),  # 不属于 … says where it is not
        ("不属于街镇职权，应由条线部门处理", []),
        ("供电公司的线路问题", ["power_supply"]),
    ],
)
def test_the_units_a_reason_names(engine: Engine, reason: str, units: list[str]) -> None:
    with session_scope(engine) as session:
        assert named_units(session, reason=reason) == units


def test_aliases_are_unique_across_the_registry() -> None:
    seen: dict[str, str] = {}
    for unit in read_registry(DEFAULT_REGISTRY).units:
        for alias in unit.aliases:
            assert seen.setdefault(alias, unit.code) == unit.code, alias
