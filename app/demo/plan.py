"""The demo's script: two months of a district's appeals, decided up front from one seed.

Nothing here touches the database. `replay.py` takes the script through the real intake and
loop, so what routing and the deadlines make of it is whatever they would make of it in life.
"""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from core.timezone import SHANGHAI
from models import AppealType, Channel, Satisfaction, Urgency
from routing import locality
from tickets.credit_code import check_character

MATTERS = Path(__file__).parent / "matters.yaml"
CREDIT_PREFIX = "91310114MA1D"  # every demo enterprise's credit code starts so

# 街镇 codes and how an address names them.
TOWNS = {
    "anting": "安亭镇", "malu": "马陆镇", "nanxiang": "南翔镇", "jiangqiao": "江桥镇",
    "xuhang": "徐行镇", "huating": "华亭镇", "waigang": "外冈镇", "xinchenglu": "新成路街道",
    "zhenxin": "真新街道", "jiadingzhen": "嘉定镇街道", "industrial_zone": "嘉定工业区",
    "juyuan": "菊园新区",
}  # fmt: skip
_WORDS = (  # noqa: SIM905
    "嘉驰 安创 云翔 菊城 汇众 华亭 江桥 新成 恒泰 博远 清源 立信 朗诗 德力 星辰 宏达 瑞丰 "
    "鼎盛 天佑 金桥 银河 启明 卓越 锦程 通达 远航 海纳 百川 嘉禾 丰源 振华 永盛 宝利 明珠 "
    "协力 盛世 鑫源 华美 东方 嘉和 裕隆 弘毅 凯达 长青 泽润 润发 君泰 和信 安泰 新域"
).split()
_TRADES = (  # noqa: SIM905
    "汽车零部件 精密机械 物流 食品 新材料科技 电子科技 包装材料 餐饮管理 环保设备 模具 "
    "智能装备 生物医药 软件 建材 服饰 冷链物流 检测技术 印刷 塑料制品 商贸"
).split()
_SURNAMES = (  # noqa: SIM905
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 林 高 罗"
).split()


@dataclass(frozen=True)
class Firm:
    """A demo enterprise: its credit code, name and where it sits."""

    code: str
    name: str
    town: str
    road: str
    number: int

    def address(self, *, named: bool) -> str:
        """Its address, naming its 街镇 or only the road (the gazetteer places that)."""
        town = TOWNS[self.town] if named else ""
        return f"嘉定区{town}{self.road}{self.number}号"


@dataclass
class Appeal:
    """One appeal of the script and how the units will handle it."""

    key: int
    at: datetime
    firm: Firm
    contact: str
    phone: str
    channel: Channel
    appeal_type: AppealType
    urgency: Urgency
    title: str
    text: str
    address: str
    truth: str  # the unit that holds the authority, or "territorial"
    reply: str
    kind: str = "plain"  # plain | repeat | cluster | return | fresh
    return_reason: str | None = None
    pace: str = "prompt"  # prompt | slow | stalled
    verdicts: list[Satisfaction] = field(default_factory=lambda: [Satisfaction.SATISFIED])
    extension: bool = False
    pause: bool = False

    @property
    def lead(self) -> str:
        """The unit that should lead: the authority holder, or the 街镇 for a territorial one."""
        return self.firm.town if self.truth == "territorial" else self.truth


@dataclass(frozen=True)
class WhistlePlan:
    """A 街镇's whistle and how far its departments get."""

    at: datetime
    town: str
    units: list[str]
    text: str
    fate: str  # confirmed | awaiting_confirm | reported | sent_back | overdue | called


@dataclass
class Script:
    """Everything the replay takes in, in no particular order."""

    start: datetime
    end: datetime
    firms: list[Firm]
    appeals: list[Appeal]
    whistles: list[WhistlePlan]
    comments: list[str]
    callback_notes: list[str]
    contact_notes: list[str]


def load_matters(path: Path = MATTERS) -> dict[str, Any]:
    """The written matters, clusters, returns, follow-ups, whistles and notes."""
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def _roads() -> dict[str, list[str]]:
    """The roads the gazetteer places in each 街镇 (its parks and old town names left out)."""
    roads: dict[str, list[str]] = {}
    for name, town in sorted(locality.gazetteer().items()):
        if name.endswith(("路", "公路", "大道")):
            roads.setdefault(town, []).append(name)
    return roads


def _firms(rng: random.Random, count: int) -> list[Firm]:
    roads, towns = _roads(), list(TOWNS)
    firms: list[Firm] = []
    names: set[str] = set()
    while len(firms) < count:
        name = f"上海{rng.choice(_WORDS)}{rng.choice(_TRADES)}有限公司"
        if name in names:
            continue
        names.add(name)
        first17 = f"{CREDIT_PREFIX}{len(firms):05d}"
        town = towns[len(firms) % len(towns)]
        road = rng.choice(roads.get(town) or ["园区路"])
        firms.append(
            Firm(first17 + check_character(first17), name, town, road, rng.randint(1, 2999))
        )
    return firms


def _instant(rng: random.Random, day: date) -> datetime:
    """A moment of a day when appeals come in: office hours mostly, some in the evening."""
    minutes = (
        rng.randint(8 * 60 + 30, 17 * 60 + 30)
        if rng.random() < 0.85
        else rng.randint(18 * 60, 21 * 60)
    )
    return datetime.combine(day, time(minutes // 60, minutes % 60), SHANGHAI)


def _days(rng: random.Random, start: datetime, end: datetime, count: int) -> list[date]:
    """`count` days in [start, end), weekends a quarter as busy as weekdays."""
    days, day = [], start.astimezone(SHANGHAI).date()
    while day < end.astimezone(SHANGHAI).date():
        days.append(day)
        day += timedelta(days=1)
    weights = [0.25 if d.weekday() >= 5 else 1.0 for d in days]
    return rng.choices(days, weights=weights, k=count)


def render(
    rng: random.Random, matter: dict[str, str], firm: Firm, contact: str, channel: Channel
) -> str:
    """The matter in a voice that fits how it arrived."""
    what, ask, title = matter["what"].rstrip("。！"), matter["ask"].rstrip("。！"), matter["title"]
    if channel == Channel.HOTLINE:
        return rng.choice(
            [
                f"来电人{contact}称其系{firm.name}工作人员，公司位于{firm.road}。来电反映：{what}。"
                f"来电人诉求：{ask}。",
                f"市民来电反映：其所在的{firm.name}{what}。希望相关部门{ask}。",
                f"{contact}来电，称{what}，已经影响企业正常经营，要求{ask}。",
            ]
        )
    if channel == Channel.APP:
        return rng.choice(
            [
                f"{what}，麻烦{ask}，谢谢",
                f"你好，{what}。希望能{ask}。",
                f"{title}。{ask}。",
                f"{what}！！反映了好几次一直没人管，到底有没有人负责？{ask}！",
            ]
        )
    return rng.choice(
        [
            f"我司{firm.name}现就{title}一事反映如下：{what}。恳请{ask}为盼。",
            f"关于{title}的情况说明：{what}。我司诚恳希望{ask}。联系人：{contact}。",
        ]
    )


def _pick_type(rng: random.Random, ask: str) -> AppealType:
    if any(word in ask for word in ("咨询", "告知", "明确", "说明", "指导", "了解")):
        return AppealType.CONSULTATION if rng.random() < 0.6 else AppealType.HELP
    if any(word in ask for word in ("建议", "增加", "优化")):
        return AppealType.SUGGESTION
    roll = rng.random()
    if roll < 0.06:
        return AppealType.REPORT
    return AppealType.COMPLAINT if roll < 0.55 else AppealType.HELP


def _fate(rng: random.Random, appeal: Appeal) -> None:
    """How the units will handle it: mostly on time, some late, a few left lying."""
    roll = rng.random()
    appeal.pace = "prompt" if roll < 0.75 else "slow" if roll < 0.96 else "stalled"
    verdict = rng.random()
    if verdict < 0.12:
        appeal.verdicts = [Satisfaction.UNSATISFIED, Satisfaction.SATISFIED]
    elif verdict < 0.24:
        appeal.verdicts = [Satisfaction.BASICALLY_SATISFIED]
    appeal.extension = rng.random() < 0.06
    appeal.pause = rng.random() < 0.04


def build_script(
    *, seed: int, now: datetime, days: int = 60, appeals: int = 2000, fresh: int = 6
) -> Script:
    """The whole demo from one seed: the same seed and day give the same district."""
    rng = random.Random(seed)
    data = load_matters()
    start = (now - timedelta(days=days)).astimezone(SHANGHAI)
    firms = _firms(rng, 300)
    by_town: dict[str, list[Firm]] = {}
    for firm in firms:
        by_town.setdefault(firm.town, []).append(firm)
    contacts = {f.code: (f"{rng.choice(_SURNAMES)}{rng.choice(['先生', '女士'])}") for f in firms}
    phones = {f.code: f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}" for f in firms}
    channels = [Channel.HOTLINE, Channel.APP, Channel.WEB]
    script: list[Appeal] = []

    def appeal(
        at: datetime, firm: Firm, matter: dict[str, str], truth: str, **extra: Any
    ) -> Appeal:
        channel = rng.choices(channels, weights=[0.55, 0.35, 0.10])[0]
        contact, phone = contacts[firm.code], phones[firm.code]
        item = Appeal(
            key=len(script) + 1,
            at=at,
            firm=firm,
            contact=contact,
            phone=phone,
            channel=channel,
            appeal_type=_pick_type(rng, matter["ask"]),
            urgency=Urgency.URGENT if rng.random() < 0.03 else Urgency.NORMAL,
            title=matter["title"],
            text=extra.pop("text", None) or render(rng, matter, firm, contact, channel),
            address=firm.address(named=rng.random() < 0.85),
            truth=truth,
            reply=matter["reply"],
            **extra,
        )
        _fate(rng, item)
        script.append(item)
        return item

    matters = [(label, m) for label, entries in data["matters"].items() for m in entries]
    clusters, returns = data["clusters"], data["returns"]
    repeats_wanted = appeals // 18
    plain = (
        appeals
        - sum(len(c["variants"]) for c in clusters)
        - 3 * len(returns)
        - repeats_wanted
        - fresh
    )
    for day in sorted(_days(rng, start, now, plain)):
        label, matter = rng.choice(matters)
        appeal(_instant(rng, day), rng.choice(firms), matter, label)
    for cluster in clusters:  # 一类事: one park's enterprises raise one matter within days
        first = start + timedelta(days=rng.randint(5, days - 10))
        matter = {k: cluster[k] for k in ("title", "what", "ask", "reply")}
        for variant in cluster["variants"]:
            day = (first + timedelta(hours=rng.randint(0, 72))).date()
            firm = rng.choice(by_town.get(cluster["town"]) or firms)
            appeal(_instant(rng, day), firm, matter, cluster["lead"], text=variant, kind="cluster")
    for item in returns:  # matters a 街镇 is sent first and returns as a line unit's
        matter = {"title": item["what"][:12], "what": item["what"], "ask": item["ask"]}
        matter["reply"] = "已按职责受理并核实处理，结果已告知企业。"
        for day in _days(rng, start, now - timedelta(days=2), 3):
            firm = rng.choice(firms)
            appeal(
                _instant(rng, day), firm, matter, item["lead"], kind="return",
                return_reason=item["reason"],
            )  # fmt: skip
    originals = [a for a in script if a.kind == "plain" and a.at < now - timedelta(days=10)]
    for original in rng.sample(originals, min(repeats_wanted, len(originals))):
        later = original.at + timedelta(days=rng.randint(7, 40), hours=rng.randint(0, 6))
        if later >= now - timedelta(hours=2):  # the last hours are the fresh appeals' alone
            continue
        template = rng.choice(data["followups"])
        what = original.text if original.channel != Channel.HOTLINE else original.title
        text = template.format(title=original.title, what=what.rstrip("。！"))
        repeat = appeal(
            later, original.firm,
            {"title": original.title, "what": text, "ask": "", "reply": original.reply},
            original.truth, text=text, kind="repeat",
        )  # fmt: skip
        if rng.random() < 0.4:  # another contact of the same enterprise calls this time
            repeat.contact = f"{rng.choice(_SURNAMES)}经理"
            repeat.phone = f"139{rng.randint(10_000_000, 99_999_999)}"
    # The last hour's intake, which neither the desk nor the units have reached: the console
    # opens on work to do whatever hour the demo is loaded. The first gives a warehouse outside
    # the district as its address, which routing always leaves to the desk (OUTSIDE).
    for i in range(fresh):
        label, matter = rng.choice(matters)
        firm = rng.choice(firms)
        item = appeal(
            now - timedelta(minutes=rng.randint(3, 60)), firm, matter, label, kind="fresh"
        )
        if i == 0:
            item.address = (
                f"宝山区{rng.choice(['沪太路', '蕴川路', '富联路'])}{firm.number}号（企业仓库）"
            )
    script.sort(key=lambda a: a.at)
    for key, item in enumerate(script, start=1):
        item.key = key
    fates = ["confirmed", "confirmed", "awaiting_confirm", "reported", "sent_back", "overdue"]
    whistles = [
        WhistlePlan(
            at=_instant(rng, (start + timedelta(days=6 + 6 * i)).date()),
            town=w["town"],
            units=list(w["units"]),
            text=w["text"],
            fate=fates[i % len(fates)],
        )
        for i, w in enumerate(data["whistles"])
    ]
    if whistles:  # the newest still waits for its departments to report in
        last = whistles[-1]
        whistles[-1] = WhistlePlan(
            now - timedelta(hours=3), last.town, last.units, last.text, "called"
        )
    return Script(
        start=start,
        end=now,
        firms=firms,
        appeals=script,
        whistles=whistles,
        comments=list(data["evaluation_comments"]),
        callback_notes=list(data["callback_notes"]),
        contact_notes=list(data["contact_notes"]),
    )
