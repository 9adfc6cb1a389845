"""Real 12345 work orders as training data: Haikou's training rows, mapped to Jiading units."""

import random
import re
from collections import defaultdict
from pathlib import Path

import yaml

from classifier.data import read_rows
from classifier.errors import ClassifierError

MAPPING = Path(__file__).parent / "data" / "haikou-units.yaml"
PER_UNIT = 60  # at most this many rows a unit, so Haikou's traffic police do not swamp the rest
_STREET = re.compile(r"(街道办|街道办事处|镇政府|镇人民政府)$")


def mapping(path: Path = MAPPING) -> dict[str, str]:
    """Haikou handling unit -> Jiading unit code, as reviewed."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return dict(data["map"])


def jiading_unit(haikou_unit: str, table: dict[str, str]) -> str | None:
    """The Jiading equivalent of a Haikou unit: the table's, a street office or town, or none."""
    if haikou_unit in table:
        return table[haikou_unit]
    return "territorial" if _STREET.search(haikou_unit) else None


def mapped_rows(path: Path, *, per_unit: int = PER_UNIT, seed: int = 11) -> list[tuple[str, str]]:
    """(text, Jiading unit) of the training rows whose unit maps, at most per_unit a unit."""
    rows = read_rows(path)
    if not rows or "处置单位" not in rows[0] or "split" not in rows[0]:
        raise ClassifierError(f"{path}: expected the Haikou columns 处置单位 and split")
    table = mapping()
    by_unit: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row["split"] != "train":
            continue
        unit = jiading_unit(row["处置单位"].strip(), table)
        text = " ".join(p for p in (row.get("工单标题", ""), row.get("诉求内容", "")) if p).strip()
        if unit and text:
            by_unit[unit].append(text)
    rng = random.Random(seed)
    out = []
    for unit in sorted(by_unit):
        texts = by_unit[unit]
        for text in rng.sample(texts, min(per_unit, len(texts))):
            out.append((text, unit))
    return out
