"""The 街镇 of an address from the names written in it."""

from pathlib import Path

import pytest

from routing.locality import GAZETTEER, NAMES, from_address, gazetteer
from units.service import DEFAULT_REGISTRY, read_registry


@pytest.mark.parametrize(
    ("address", "subdistrict", "source"),
    [
        ("嘉定区安亭镇墨玉路185号", "anting", "name"),
        ("上海市嘉定区 马陆镇 宝安公路2999号", "malu", "name"),
        ("嘉定工业区叶城路1118号", "industrial_zone", "name"),
        ("嘉定区嘉定镇街道城中路", "jiadingzhen", "name"),
        ("嘉定区菊园新区平城路1055号", "juyuan", "name"),
        ("菊园平城路", "juyuan", "name"),
        ("江桥镇华江路500号", "jiangqiao", "name"),
        ("嘉定区新成路街道胜辛路", "xinchenglu", "name"),
        ("安亭汽车城工业区", "anting", "name"),  # a town outranks the generic 工业区
        ("嘉定区南翔镇古猗园路88号（靠近江桥方向）", "nanxiang", "name"),
        ("叶城路工业区北区", "industrial_zone", "generic name"),
        ("上海市普陀区真北路100号", None, "outside Jiading"),
        ("江苏省昆山市花桥镇", None, "outside Jiading"),
        ("上海市嘉定区", None, "unknown"),
        ("上海市徐汇区华亭路88号", None, "outside Jiading"),  # 华亭 here is a Xuhui road
        ("墨玉北路300号", "anting", "gazetteer"),
        ("嘉定区临洮路200号", "jiangqiao", "gazetteer"),
        ("嘉定区金沙江西路1555弄", "jiangqiao", "gazetteer"),
        ("嘉定区金沙江路3131号", "zhenxin", "gazetteer"),
        ("上海国际汽车城研发科技港", "anting", "gazetteer"),
        ("", None, "unknown"),
    ],
)
def test_addresses(address: str, subdistrict: str | None, source: str) -> None:
    found = from_address(address)
    assert (found.subdistrict, found.source) == (subdistrict, source)


def test_every_subdistrict_of_the_registry_has_names() -> None:
    units = read_registry(DEFAULT_REGISTRY).units
    registry = {u.code for u in units if u.kind == "subdistrict"}
    assert set(NAMES) == registry
    for code, names in NAMES.items():
        assert from_address(f"上海市嘉定区{names[0]}某路1号").subdistrict == code


def test_the_registry_decides_when_the_address_names_nothing() -> None:
    found = from_address("嘉定区某商务楼5楼", registered="zhenxin")
    assert (found.subdistrict, found.source) == ("zhenxin", "registry")
    # An address that names its 街镇 outranks the registry; one outside Jiading is not helped.
    assert from_address("南翔镇德园路1号", registered="zhenxin").subdistrict == "nanxiang"
    assert from_address("闵行区某路", registered="zhenxin").source == "outside Jiading"


def test_a_place_listed_under_two_towns_is_refused(tmp_path: Path) -> None:
    assert all(code in NAMES for code in gazetteer().values())
    bad = tmp_path / "g.yaml"
    bad.write_text("anting: [曹安公路]\njiangqiao: [曹安公路]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="曹安公路 is listed under anting and jiangqiao"):
        gazetteer(bad)
    assert GAZETTEER.is_file()
