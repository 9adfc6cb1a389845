"""The 街镇 of an address: its names, then a road gazetteer, then the enterprise registry."""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

GAZETTEER = Path(__file__).parent / "data" / "jiading-gazetteer.yaml"

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
    # "name", "generic name", "gazetteer", "registry", "outside Jiading" or "unknown"
    source: str
    matched: str | None = None


@lru_cache
def gazetteer(path: Path = GAZETTEER) -> dict[str, str]:
    """Each road, park or former town name and the one 街镇 it lies in."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    places: dict[str, str] = {}
    for code, names in data.items():
        for name in names:
            if places.setdefault(str(name), code) != code:
                raise ValueError(f"{path}: {name} is listed under {places[name]} and {code}")
    return places


def from_address(address: str, *, registered: str | None = None) -> Locality:
    """The 街镇 of an address, else of the enterprise's registration, and what decided it."""
    text = re.sub(r"\s+", "", address)
    outside = OTHER_DISTRICTS.search(text)
    if outside and not JIADING.search(text[: outside.start()]):
        return Locality(None, "outside Jiading", outside.group(0))
    found = [
        (len(name) < 3, text.find(name), code, name)
        for code, names in NAMES.items()
        for name in names
        if name in text
    ]
    if found:
        _, _, code, name = min(found)
        return Locality(code, "name", name)
    for name, code in GENERIC.items():
        if name in text:
            return Locality(code, "generic name", name)
    # The longest place name written wins; a tie between two 街镇 is no answer.
    places = [(name, code) for name, code in gazetteer().items() if name in text]
    if places:
        longest = max(len(name) for name, _ in places)
        best = [(name, code) for name, code in places if len(name) == longest]
        if len({code for _, code in best}) == 1:
            return Locality(best[0][1], "gazetteer", best[0][0])
    if registered:
        return Locality(registered, "registry")
    return Locality(None, "unknown")
