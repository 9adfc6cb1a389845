"""The Jiading bootstrap corpus: each written matter rendered in the styles appeals arrive in."""

import random
from dataclasses import dataclass
from pathlib import Path

import yaml

from classifier.errors import ClassifierError

MATTERS = Path(__file__).parent / "data" / "jiading-matters.yaml"
HELD_OUT = 2  # the last matters of each unit form the evaluation set

COMPANIES = [
    "上海嘉驰汽车零部件有限公司", "上海安创精密机械有限公司", "上海云翔物流有限公司",
    "上海菊城食品有限公司", "上海马陆葡萄酒业有限公司", "上海南翔小笼餐饮管理有限公司",
    "上海汇众新材料科技有限公司", "上海徐行草编工艺品有限公司", "上海华亭农业发展有限公司",
    "上海江桥电子商务有限公司", "上海外冈包装制品有限公司", "上海新成智能科技有限公司",
]  # fmt: skip
PLACES = [
    "安亭镇墨玉路", "马陆镇宝安公路", "南翔镇沪宜公路", "江桥镇金园一路", "徐行镇新建一路",
    "华亭镇嘉行公路", "外冈镇恒永路", "嘉定工业区兴贤路", "菊园新区平城路", "新成路街道胜辛路",
]  # fmt: skip
TOWNS = ["安亭镇", "马陆镇", "南翔镇", "江桥镇", "徐行镇", "华亭镇", "外冈镇", "嘉定工业区"]


@dataclass(frozen=True)
class Matter:
    """One written matter: its title, what happened and what the enterprise asks."""

    label: str
    title: str
    what: str
    ask: str


def read_matters(path: Path = MATTERS) -> tuple[dict[str, list[Matter]], dict[str, str]]:
    """The matters per label, and how a letter names each unit."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    names = data.pop("names")
    matters: dict[str, list[Matter]] = {}
    for label, entries in data.items():
        for entry in entries:
            parts = [part.strip() for part in entry.split("|")]
            if len(parts) != 3 or not all(parts):
                raise ClassifierError(f"{path}: {label}: expected 'title | what | ask': {entry}")
            matters.setdefault(label, []).append(Matter(label, *parts))
    return matters, names


def render(matter: Matter, style: int, unit_name: str, rng: random.Random) -> str:
    """The matter as one of five kinds of appeal text."""
    company, place = rng.choice(COMPANIES), rng.choice(PLACES)
    if matter.label == "territorial":
        unit_name = rng.choice(TOWNS) + ("管委会" if "工业区" in unit_name else "政府")
    if style == 0:  # an operator's transcript of a call
        return (
            f"来电人称其系{company}工作人员，公司位于{place}。来电反映：{matter.what}。"
            f"来电人诉求：{matter.ask}。"
        )
    if style == 1:  # typed into an app, casual
        return f"{matter.what}，麻烦{matter.ask}，谢谢"
    if style == 2:  # terse
        return f"{matter.title}，{matter.ask}"
    if style == 3:  # angry
        return f"{matter.what}！！！反映好几次了一直没人管，到底有没有人负责？{matter.ask}！"
    return (  # a formal letter that names the unit
        f"{unit_name}：我司{company}现就{matter.title}一事反映如下：{matter.what}。"
        f"恳请贵单位{matter.ask}为盼。"
    )


STYLES = 5


def corpus(*, held_out: bool, seed: int = 7) -> tuple[list[str], list[str]]:
    """Texts and labels: the training matters, or the held-out evaluation matters."""
    matters, names = read_matters()
    rng = random.Random(seed)
    texts, labels = [], []
    for label, entries in matters.items():
        chosen = entries[-HELD_OUT:] if held_out else entries[:-HELD_OUT]
        for matter in chosen:
            for style in range(STYLES):
                texts.append(render(matter, style, names[label], rng))
                labels.append(label)
    return texts, labels
