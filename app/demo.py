"""Demo data: one user per role, tickets at every stage of the loop, a whistle, an evaluation."""

import secrets
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from accounts import service as accounts_service
from evaluations import service as evaluations_service
from evaluations import whistles
from models import (
    AppealType,
    Channel,
    Evaluation,
    EvaluationPeriod,
    PeriodStatus,
    Role,
    Satisfaction,
    User,
    Whistle,
    utcnow,
)
from tickets import service as tickets_service
from tickets.credit_code import check_character
from tickets.schemas import ContactIn, EnterpriseIn, TicketCreate
from tickets.working_time import SHANGHAI

# (name, role, unit, console login)
DEMO_USERS: list[tuple[str, Role, str | None, str]] = [
    ("demo-operator", Role.OPERATOR, None, "operator"),
    ("demo-supervisor", Role.SUPERVISOR, None, "supervisor"),
    ("demo-admin", Role.ADMIN, None, "admin"),
    ("demo-market", Role.UNIT_HANDLER, "market_regulation", "market"),
    ("demo-hrss", Role.UNIT_HANDLER, "hrss", "hrss"),
    ("demo-anting", Role.SUBDISTRICT, "anting", "anting"),
]

# (enterprise, address, text, appeal type, lead unit or None, how far along the loop)
DEMO_TICKETS: list[tuple[str, str, str, AppealType, str | None, str]] = [
    (
        "上海嘉悦精密机械有限公司",
        "嘉定区安亭镇墨玉路185号",
        "我司申请变更法定代表人，网上提交三次都被退回，"
        "说材料不全但没说缺什么，请市场监管部门告知具体要求。",
        AppealType.HELP,
        "market_regulation",
        "closed",
    ),
    (
        "上海汇丰达物流有限公司",
        "嘉定区马陆镇宝安公路2999号",
        "公司员工反映上个月工资被拖欠，企业主体是我们的外包方，希望人社部门介入协调。",
        AppealType.COMPLAINT,
        "hrss",
        "replied",
    ),
    (
        "上海新域餐饮管理有限公司",
        "嘉定区南翔镇古猗园路88号",
        "门店食品经营许可证延续申请已超过承诺时限仍未办结，影响正常营业。",
        AppealType.COMPLAINT,
        "market_regulation",
        "contacted",
    ),
    (
        "上海博远电子科技有限公司",
        "嘉定区安亭镇园国路1000号",
        "园区道路晚上路灯不亮，员工下班有安全隐患，请属地协调处理。",
        AppealType.HELP,
        "anting",
        "acknowledged",
    ),
    (
        "上海清源环保设备有限公司",
        "嘉定工业区叶城路1118号",
        "咨询稳岗补贴今年的申报时间和材料要求。",
        AppealType.CONSULTATION,
        "hrss",
        "dispatched",
    ),
    (
        "上海立信包装材料有限公司",
        "嘉定区江桥镇华江路500号",
        "隔壁工厂夜间施工噪声很大，已经持续两周，影响我司员工宿舍休息。",
        AppealType.COMPLAINT,
        None,
        "triage",
    ),
    (
        "上海恒泰汽车零部件有限公司",
        "嘉定区外冈镇恒永路328号",
        "申请增容用电，供电公司说要等三个月，新生产线无法投产，希望加快。",
        AppealType.HELP,
        None,
        "triage",
    ),
    (
        "上海朗诗文化传播有限公司",
        "嘉定区菊园新区平城路1055号",
        "建议在一网通办增加企业年报的进度查询功能。",
        AppealType.SUGGESTION,
        None,
        "triage",
    ),
]

_STEPS = ["triage", "dispatched", "acknowledged", "contacted", "replied", "closed"]


def demo_credit_code(index: int) -> str:
    """A valid-looking credit code for the demo enterprise with this index."""
    first17 = f"91310114MA1G{index:05d}"
    return first17 + check_character(first17)


def demo_password() -> str:
    """A fresh random password for a demo login (12 characters, never only digits)."""
    while True:
        password = secrets.token_urlsafe(9)
        if not password.isdigit():
            return password


def load_demo(session: Session, *, tokens_file: Path, logins_file: Path) -> None:
    """Create the demo users and tickets once.

    New users' tokens are appended to tokens_file; every demo user without a console login
    gets one with a random password, appended to logins_file (both files mode 0600).
    """
    users: dict[str, User] = {}
    tokens: list[str] = []
    logins: list[str] = []
    for name, role, unit, login in DEMO_USERS:
        user = session.exec(select(User).where(User.name == name)).first()
        if user is None:
            user, token = accounts_service.create_user(
                session, name=name, role=role, unit_code=unit
            )
            tokens.append(f"{name:16} {role:12} {unit or '-':18} {token}")
        if user.login is None:
            password = demo_password()
            accounts_service.set_login(session, user=user, login=login, password=password)
            logins.append(f"{login:12} {password:16} {role:12} {unit or '-'}")
        users[name] = user
    _append(tokens_file, tokens)
    _append(logins_file, logins)
    _load_tickets(session, users=users)
    _load_whistle_and_evaluation(session, users=users)


def _append(path: Path, lines: list[str]) -> None:
    """Add lines to a file only its owner may read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    if lines:
        with path.open("a", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines))


def _load_tickets(session: Session, *, users: dict[str, User]) -> None:
    desk, supervisor = users["demo-operator"], users["demo-supervisor"]
    handlers = {u.unit_code: u for u in users.values() if u.unit_code}
    now = utcnow()
    for index, (name, address, text, appeal_type, lead, stage) in enumerate(DEMO_TICKETS, start=1):
        data = TicketCreate(
            source="demo",
            external_id=f"DEMO-{index:04d}",
            channel=Channel.HOTLINE if index % 2 else Channel.APP,
            received_at=now - timedelta(hours=6 * index),
            enterprise=EnterpriseIn(credit_code=demo_credit_code(index), name=name),
            contact=ContactIn(name="王先生", phone=f"1380000{index:04d}"),
            address=address,
            text=text,
            appeal_type=appeal_type,
        )
        ticket, created = tickets_service.intake(session, data=data, user=desk)
        if not created or lead is None:
            continue
        tid, handler, reached = ticket.id or 0, handlers[lead], _STEPS.index(stage)
        tickets_service.dispatch(session, ticket_id=tid, user=desk, lead_unit=lead, assist_units=[])
        if reached >= _STEPS.index("acknowledged"):
            tickets_service.acknowledge(session, ticket_id=tid, user=handler)
        if reached >= _STEPS.index("contacted"):
            tickets_service.contact(
                session, ticket_id=tid, user=handler, note="已电话联系企业负责人"
            )
        if reached >= _STEPS.index("replied"):
            tickets_service.reply(
                session, ticket_id=tid, user=handler, content="已答复企业，说明办理要求和时限。"
            )
        if reached >= _STEPS.index("closed"):
            tickets_service.callback(
                session, ticket_id=tid, user=desk, satisfaction=Satisfaction.SATISFIED
            )
            tickets_service.close(session, ticket_id=tid, user=supervisor)


def _load_whistle_and_evaluation(session: Session, *, users: dict[str, User]) -> None:
    """安亭镇 whistles two departments (one has reported in) and evaluates one, once."""
    anting, market = users["demo-anting"], users["demo-market"]
    if session.exec(select(Whistle.id).where(Whistle.subdistrict == "anting")).first() is None:
        whistle = whistles.raise_whistle(
            session,
            user=anting,
            units=["market_regulation", "hrss"],
            text="墨玉路园区多家企业反映证照变更和用工问题，请市场监管、人社部门到园区现场会商。",
            ticket_ids=[],
        )
        whistles.report(
            session,
            whistle_id=whistle.id or 0,
            user=market,
            unit=None,
            contact="注册许可科 王科长 021-59990000",
            plan="本周四上午到园区现场办公，集中受理变更登记。",
        )
    month = utcnow().astimezone(SHANGHAI).strftime("%Y-%m")
    period = session.get(EvaluationPeriod, month) or evaluations_service.open_period(
        session, period=month
    )
    done = select(Evaluation.id).where(
        Evaluation.period == month, Evaluation.subdistrict == "anting"
    )
    if period.status == PeriodStatus.OPEN and session.exec(done).first() is None:
        evaluations_service.create(
            session,
            user=anting,
            period=month,
            unit="market_regulation",
            timeliness=5,
            effectiveness=4,
            cooperation=5,
            comment="接到吹哨后当天报到，现场办公效率高。",
            whistle_ids=[],
            ticket_ids=[],
        )
