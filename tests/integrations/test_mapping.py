"""The connector file: checked whole at start, naming the wrong line; orders mapped onto intake."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from core.config import Settings
from integrations.mapping import Connector, ConnectorError, MappingError, parse_connector
from tests.integration.fake_platform import order
from tests.integrations.connector import SHIPPED, connector_text, reset, use_connector
from tickets.connectors import VOCABULARY


def parse(text: str) -> Connector:
    return parse_connector(text, vocabulary=VOCABULARY, origin="sh.yaml")


def test_the_shipped_connector_maps_a_platform_order_onto_intake() -> None:
    connector = parse(SHIPPED.read_text(encoding="utf-8"))
    body = connector.apply(order(3))
    assert body["source"] == "sh12345" and body["external_id"] == "SH0000003"
    assert body["received_at"] == "2026-11-02T09:03:00+08:00"
    assert body["enterprise"]["name"] == "上海平台测试企业3有限公司"
    assert (body["appeal_type"], body["urgency"], body["channel"]) == (
        "complaint",
        "normal",
        "hotline",
    )
    assert connector.platform_unit("market_regulation") == "JD-SCJGJ"
    assert connector.platform_unit("tax") == "JD-SWJ"
    assert connector.platform_unit("housing") == "housing"  # not in the map: qisu's own code


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda o: o.pop("lxdh"), "lxdh", "缺少必填字段"),
        (lambda o: o.update(sqlx="99"), "sqlx", "无法映射"),
        (lambda o: o.update(jjcd="9"), "jjcd", "无法映射"),
        (lambda o: o.update(slsj="昨天"), "slsj", "无法识别"),
        (lambda o: o.update(sqnr={"nested": 1}), "sqnr", "应为文字"),
    ],
)
def test_an_unmappable_order_says_which_platform_field_and_why(
    change: Callable[[dict[str, Any]], object], field: str, words: str
) -> None:
    connector = parse(connector_text())
    broken = order(4)
    change(broken)
    with pytest.raises(MappingError) as caught:
        connector.apply(broken)
    assert caught.value.field == field and words in caught.value.reason


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("source: sh12345", "source: sh 12345!", 4, "source is a name"),
        ("  appeal_type: sqlx", "  appeal_typo: sqlx", 19, "unknown key 'appeal_typo'"),
        ('    "03": complaint', '    "03": grumble', 28, "'grumble' is not a qisu appeal_type"),
        ('    "9": withdrawn', '    "9": cancelled', 37, "'cancelled' is not a qisu order_state"),
        ("    acknowledge: QS", "    acknowledged: QS", 64, "unknown key 'acknowledged'"),
        ("  url: http://127.0.0.1:9/api/steps", "  url: ftp://x", 61, "http(s)"),
        ("  page_size: 100", "  page_size: -5", 54, "positive number"),
        ("timezone: Asia/Shanghai", "timezone: Mars/Olympus", 7, "unknown timezone"),
        (
            "  external_id: gdbh                # 工单编号\n",
            "",
            9,
            "no platform field given for external_id",
        ),
    ],
)
def test_a_wrong_connector_file_names_its_line(old: str, new: str, line: int, words: str) -> None:
    text = connector_text()
    assert old in text
    with pytest.raises(ConnectorError) as caught:
        parse(text.replace(old, new, 1))
    assert f"sh.yaml, line {line} " in str(caught.value) and words in str(caught.value)


def test_a_unit_map_naming_no_registry_unit_is_refused_with_its_line() -> None:
    connector = parse(connector_text().replace("JD-SWJ: tax", "JD-SWJ: taxes"))
    with pytest.raises(ConnectorError, match=r"line 44 \(units.JD-SWJ\): 'taxes' is not a unit"):
        connector.check_units({"market_regulation", "hrss", "urban_management"})


def test_a_wrong_connector_stops_the_start(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(connector_text().replace("JD-SWJ: tax", "JD-SWJ: taxes"), encoding="utf-8")
    use_connector(monkeypatch, path)
    try:
        refused = pytest.raises(ConnectorError, match="'taxes' is not a unit of the registry")
        with refused, TestClient(create_app(settings)):
            pass
        path.write_text(connector_text().replace('"01": consultation', '"01": chat'))
        reset()
        refused = pytest.raises(ConnectorError, match="line 26")
        with refused, TestClient(create_app(settings)):
            pass
        monkeypatch.setenv("QISU_PLATFORM_SECRETS", "{}")
        path.write_text(connector_text())
        reset()
        refused = pytest.raises(ConnectorError, match="no secret")
        with refused, TestClient(create_app(settings)):
            pass
    finally:
        monkeypatch.undo()
        reset()
