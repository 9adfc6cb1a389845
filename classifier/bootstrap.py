"""The Jiading bootstrap corpus: each written matter rendered in the styles appeals arrive in."""

import random
from dataclasses import dataclass
from pathlib import Path

import yaml

from classifier.errors import ClassifierError

DATA = Path(__file__).parent / "data"
MATTERS = DATA / "jiading-matters.yaml"
# Matters written later from each unit's duties, in more voices; read before MATTERS, so the
# held-out matters (the last of each unit) stay the ones earlier models were measured on.
MORE_MATTERS = DATA / "jiading-matters-duties.yaml"
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
ROLES = ["行政主管", "财务", "法人代表", "厂长", "人事专员", "办公室主任", "负责人"]
ANSWERERS = ["有关部门", "对方", "承办单位"]
WAITS = ["两周", "一个多月", "二十多天", "快两个月", "三个星期"]


@dataclass(frozen=True)
class Matter:
    """One written matter: its title, what happened and what the enterprise asks."""

    label: str
    title: str
    what: str
    ask: str


@dataclass(frozen=True)
class Rendering:
    """One appeal text of a matter: which matter (its index), in which style, from whom."""

    text: str
    label: str
    matter: int
    style: int
    company: str


def _read(path: Path) -> tuple[dict[str, list[Matter]], dict[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    names = data.pop("names", {})
    matters: dict[str, list[Matter]] = {}
    for label, entries in data.items():
        for entry in entries:
            parts = [part.strip() for part in entry.split("|")]
            if len(parts) != 3 or not all(parts):
                raise ClassifierError(f"{path}: {label}: expected 'title | what | ask': {entry}")
            matters.setdefault(label, []).append(Matter(label, *parts))
    return matters, names


def read_matters(
    path: Path = MATTERS, more: Path | None = MORE_MATTERS
) -> tuple[dict[str, list[Matter]], dict[str, str]]:
    """The matters per label (the later-written ones first), and how a letter names each unit."""
    matters, names = _read(path)
    if more is None or not more.is_file():
        return matters, names
    extra, extra_names = _read(more)
    merged = {label: extra.get(label, []) + matters.get(label, []) for label in extra | matters}
    return merged, extra_names | names


FIRST_STYLES = 5  # the ways a matter is first raised
STYLES = 8  # and three ways it is raised again (follow-ups), for repeat detection


def render(matter: Matter, style: int, unit_name: str, rng: random.Random, company: str) -> str:
    """The matter as one of eight kinds of appeal text; styles 5-7 raise it again."""
    place = rng.choice(PLACES)
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
    if style == 4:  # a formal letter that names the unit
        return (
            f"{unit_name}：我司{company}现就{matter.title}一事反映如下：{matter.what}。"
            f"恳请贵单位{matter.ask}为盼。"
        )
    if style == 5:  # a follow-up after a reply that did not help
        return (
            f"关于{matter.title}的再次反映：上次反映后{rng.choice(ANSWERERS)}答复会处理"
            f"，但至今仍未解决，{rng.choice(WAITS)}过去了还是老样子。{matter.ask}。"
        )
    if style == 6:  # another contact person of the enterprise, partial progress
        return (
            f"来电人系{company}{rng.choice(ROLES)}，称公司之前已反映过{matter.title}的问题，"
            f"工作人员来看过，但问题还没有彻底解决。来电人要求：{matter.ask}。"
        )
    return f"又来问{matter.title}的事，上次说好的到现在还没动静，{matter.ask}"  # app, again


def renderings(
    *, held_out: bool, seed: int = 7, styles: int = FIRST_STYLES, more: bool = True
) -> list[Rendering]:
    """Every rendering of the training (or held-out) matters in the first `styles` styles
    (without the later-written matters when `more` is false: a smaller corpus for tests).

    The k-th matter of every unit comes from the same enterprise, so one enterprise raises
    matters for many units and a few for the same unit, as near misses do in life.
    """
    matters, names = read_matters(more=MORE_MATTERS if more else None)
    rng = random.Random(seed)
    out: list[Rendering] = []
    number = 0
    for label, entries in matters.items():
        chosen = entries[-HELD_OUT:] if held_out else entries[:-HELD_OUT]
        for k, matter in enumerate(chosen):
            company = COMPANIES[k % len(COMPANIES)]
            for style in range(styles):
                text = render(matter, style, names.get(label, label), rng, company)
                out.append(Rendering(text, label, number, style, company))
            number += 1
    return out


def corpus(*, held_out: bool, seed: int = 7) -> tuple[list[str], list[str]]:
    """Texts and labels: the training matters, or the held-out evaluation matters."""
    rows = renderings(held_out=held_out, seed=seed)
    return [r.text for r in rows], [r.label for r in rows]
