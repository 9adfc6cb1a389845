"""Haikou's handling units mapped to Jiading's, and its training rows read through the map."""

import csv
from pathlib import Path

import yaml

from classifier.haikou import MAPPING, jiading_unit, mapped_rows, mapping
from units.service import DEFAULT_REGISTRY, read_registry


def test_every_mapped_unit_is_a_jiading_authority_holder() -> None:
    codes = {u.code for u in read_registry(DEFAULT_REGISTRY).units if u.kind != "subdistrict"}
    table = mapping()
    assert set(table.values()) <= codes | {"territorial"}
    unmapped = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))["none"]
    assert not set(unmapped) & set(table)  # a unit is mapped or explained, never both
    assert table["市人力资源和社会保障局"] == "hrss" and table["海口工商局"] == "market_regulation"


def test_street_offices_and_towns_are_territorial_and_the_rest_unmapped() -> None:
    table = mapping()
    assert jiading_unit("龙华区金贸街道办", table) == "territorial"
    assert jiading_unit("美兰区三江镇人民政府", table) == "territorial"
    assert jiading_unit("市住房和城乡建设局", table) is None  # its function straddles two units
    assert jiading_unit("海口电信局", table) is None


def test_only_training_rows_of_mapped_units_are_read_and_capped(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["工单标题", "诉求内容", "处置单位", "split"])
        for n in range(5):
            writer.writerow([f"欠薪{n}", "公司拖欠工资", "市人力资源和社会保障局", "train"])
        writer.writerow(["测试", "不应读到", "市人力资源和社会保障局", "test"])
        writer.writerow(["宽带", "网速慢", "海口电信局", "train"])
    rows = mapped_rows(path, per_unit=3)
    assert len(rows) == 3 and {unit for _, unit in rows} == {"hrss"}
    assert all("不应读到" not in text for text, _ in rows)
