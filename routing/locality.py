"""The 街镇 of an address, from the names people write for the twelve Jiading 街镇.

This is the first source of locality (DESIGN.md "Routing"); a road gazetteer and the
enterprise registry come next, for addresses that name no 街镇.
"""

import re
from dataclasses import dataclass

# Each 街镇 and the names an address may use for it, full names first.
NAMES: dict[str, tuple[str, ...]] = {
    "xinchenglu": ("新成路街道", "新成街道"),
    "zhenxin": ("真新街道", "真新"),
    "jiadingzhen": ("嘉定镇街道", "嘉定镇"),
    "nanxiang": ("南翔镇", "南翔"),
    "anting": ("安亭镇", "安亭"),
    "malu": ("马陆镇", "马陆"),
    "xuhang": ("徐行镇", "徐行"),
    "huating": ("华亭镇", "华亭"),
    "waigang": ("外冈镇", "外冈"),
    "jiangqiao": ("江桥镇", "江桥"),
    "industrial_zone": ("嘉定工业区", "嘉定工业园区"),
    "juyuan": ("菊园新区", "菊园"),
}
# "工业区" alone means the 嘉定工业区 only when nothing more specific is named.
GENERIC = {"工业区": "industrial_zone"}
OTHER_DISTRICTS = re.compile(
    r"(黄浦|徐汇|长宁|静安|普陀|虹口|杨浦|闵行|宝山|浦东|金山|松江|青浦|奉贤|崇明)(新)?区"
    r"|昆山|太仓|苏州"
)
JIADING = re.compile(r"嘉定区|嘉定")


@dataclass(frozen=True)
class Locality:
    """Where an address lies, and what decided it."""

    subdistrict: str | None
    source: str  # "name", "generic name", "outside Jiading" or "unknown"
    matched: str | None = None


def from_address(address: str) -> Locality:
    """The 街镇 an address names: a full name before a short one, then the first written."""
    text = re.sub(r"\s+", "", address)
    found = [
        (len(name) < 3, text.find(name), code, name)
        for code, names in NAMES.items()
        for name in names
        if name in text
    ]
    if found:
        _, _, code, name = min(found)
        return Locality(code, "name", name)
    outside = OTHER_DISTRICTS.search(text)
    if outside and not JIADING.search(text[: outside.start()]):
        return Locality(None, "outside Jiading", outside.group(0))
    for name, code in GENERIC.items():
        if name in text:
            return Locality(code, "generic name", name)
    return Locality(None, "unknown")
