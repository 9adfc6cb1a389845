"""The 街镇 of an address from the names written in it."""

import pytest

from routing.locality import NAMES, from_address
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
