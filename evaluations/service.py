"""Evaluation periods and reverse evaluations: who may write what, and when it freezes."""

import calendar
import re
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.timezone import SHANGHAI
from models import (
    EVALUATED_KINDS,
    Assignment,
    Evaluation,
    EvaluationPeriod,
    PeriodStatus,
    Role,
    Ticket,
    Unit,
    User,
    Whistle,
    WhistleCall,
    utcnow,
)
from tickets import repository as tickets_repository

# Fewer evaluations than this of a department in a period would name their authors: a
# department sees none of them, and rankings show no evaluation averages (评价数不足).
MIN_SHOWN = 3
TOO_FEW = "评价数不足"

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_span(period: str) -> tuple[date, date]:
    """The first and last day of a "YYYY-MM" period."""
    match = MONTH.match(period)
    if not match:
        raise InvalidInput(
            "评价期应为 2026-11 这样的月份，或给出起止日期（starts、ends）", field="period"
        )
    year, month = int(match[1]), int(match[2])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def open_period(
    session: Session, *, period: str, starts: date | None = None, ends: date | None = None
) -> EvaluationPeriod:
    """Open a period: a month by default, or any span given by its first and last day."""
    if starts is None or ends is None:
        month_starts, month_ends = month_span(period)
        starts, ends = starts or month_starts, ends or month_ends
    if ends < starts:
        raise InvalidInput("评价期的结束日期早于开始日期", field="ends")
    if session.get(EvaluationPeriod, period):
        raise Conflict("该评价期已存在", field="period")
    row = EvaluationPeriod(period=period, starts=starts, ends=ends, status=PeriodStatus.OPEN)
    session.add(row)
    session.flush()
    return row


def close_period(session: Session, *, period: str) -> EvaluationPeriod:
    """Freeze a period's evaluations."""
    row = get_period(session, period)
    if row.status == PeriodStatus.CLOSED:
        raise Conflict("该评价期已关闭")
    row.status, row.closed_at = PeriodStatus.CLOSED, utcnow()
    session.add(row)
    return row


def get_period(session: Session, period: str) -> EvaluationPeriod:
    """A period by name; 404 when there is none."""
    row = session.get(EvaluationPeriod, period)
    if row is None:
        raise NotFound("没有该名称的评价期")
    return row


def _open_period(session: Session, period: str) -> EvaluationPeriod:
    row = get_period(session, period)
    if row.status != PeriodStatus.OPEN:
        raise Conflict("评价期已关闭，其评价不能再填写或修改")
    return row


def _own_subdistrict(user: User) -> str:
    if user.role != Role.SUBDISTRICT or not user.unit_code:
        raise Forbidden("只有街镇用户能以本街镇名义评价部门")
    return user.unit_code


def create(
    session: Session,
    *,
    user: User,
    period: str,
    unit: str,
    timeliness: int,
    effectiveness: int,
    cooperation: int,
    comment: str | None,
    whistle_ids: list[int],
    ticket_ids: list[int],
) -> Evaluation:
    """A 街镇's evaluation of a line department in an open period (one per triple)."""
    subdistrict = _own_subdistrict(user)
    window = _open_period(session, period)
    target = session.get(Unit, unit)
    if target is None:
        raise InvalidInput("没有该代码的单位，请从待评价部门中选择", field="unit")
    if target.kind not in EVALUATED_KINDS:
        raise InvalidInput(f"{target.name}不是职能部门，只评价职能部门", field="unit")
    worked = worked_with(session, subdistrict=subdistrict, period=window)
    if unit not in worked:
        raise InvalidInput(
            f"本评价期内本街镇与{target.name}没有共同办理的工单或吹哨，只能评价待评价清单中的部门",
            field="unit",
        )
    _check_links(session, user=user, ticket_ids=ticket_ids, whistle_ids=whistle_ids)
    duplicate = session.exec(
        select(Evaluation.id).where(
            Evaluation.period == period,
            Evaluation.subdistrict == subdistrict,
            Evaluation.unit == unit,
        )
    ).first()
    if duplicate is not None:
        raise Conflict(f"本街镇已在 {period} 评价过该部门（评价 {duplicate}），请修改原评价")
    row = Evaluation(
        period=period,
        subdistrict=subdistrict,
        unit=unit,
        comment=comment,
        whistle_ids=sorted(set(whistle_ids)),
        ticket_ids=sorted(set(ticket_ids)),
        author_id=user.id,
        timeliness=timeliness,
        effectiveness=effectiveness,
        cooperation=cooperation,
    )
    session.add(row)
    session.flush()
    return row


def update(
    session: Session, *, user: User, evaluation_id: int, changes: dict[str, object]
) -> Evaluation:
    """Edit one's own evaluation while its period is open."""
    subdistrict = _own_subdistrict(user)
    row = session.get(Evaluation, evaluation_id)
    if row is None or row.subdistrict != subdistrict:
        raise NotFound(f"没有本街镇的评价 {evaluation_id}")
    _open_period(session, row.period)
    _check_links(
        session,
        user=user,
        ticket_ids=list(changes.get("ticket_ids") or []),  # type: ignore[call-overload]
        whistle_ids=list(changes.get("whistle_ids") or []),  # type: ignore[call-overload]
    )
    for name, value in changes.items():
        setattr(row, name, sorted(set(value)) if isinstance(value, list) else value)
    row.updated_at = utcnow()
    session.add(row)
    return row


def _check_links(
    session: Session, *, user: User, ticket_ids: list[int], whistle_ids: list[int]
) -> None:
    """An evaluation links only tickets the 街镇 may see and whistles it blew itself."""
    for ticket_id in set(ticket_ids):
        if tickets_repository.visible_ticket(session, ticket_id=ticket_id, user=user) is None:
            raise InvalidInput(f"没有您可查看的工单 {ticket_id}", field="ticket_ids")
    for whistle_id in set(whistle_ids):
        whistle = session.get(Whistle, whistle_id)
        if whistle is None or whistle.subdistrict != user.unit_code:
            raise InvalidInput(f"没有本街镇的吹哨 {whistle_id}", field="whistle_ids")


def visible(session: Session, *, user: User, period: str | None) -> list[Evaluation]:
    """Supervisors see all; a 街镇 its own; a department those about it, from MIN_SHOWN on."""
    query = select(Evaluation)
    if period:
        query = query.where(Evaluation.period == period)
    if user.role == Role.SUBDISTRICT:
        query = query.where(Evaluation.subdistrict == user.unit_code)
    elif user.role == Role.UNIT_HANDLER:
        query = query.where(Evaluation.unit == user.unit_code)
    elif user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("话务员不能查看评价")
    rows = list(session.exec(query.order_by(col(Evaluation.unit), col(Evaluation.id))))
    if user.role != Role.UNIT_HANDLER:
        return rows
    # A department reads what was said in periods with enough voices, in no telling order.
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.period] = counts.get(row.period, 0) + 1
    shown = [row for row in rows if counts[row.period] >= MIN_SHOWN]
    return sorted(shown, key=lambda r: (r.period, r.comment or ""))


def summary(session: Session, *, user: User, period: str, unit: str) -> dict[str, object]:
    """A department's evaluation averages for a period, given only from MIN_SHOWN evaluations."""
    if user.role == Role.UNIT_HANDLER and unit != user.unit_code:
        raise Forbidden("部门只能查看对本部门的评价")
    if user.role not in (Role.UNIT_HANDLER, Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("只有被评价部门和督办人员能查看评价汇总")
    get_period(session, period)
    rows = list(
        session.exec(select(Evaluation).where(Evaluation.period == period, Evaluation.unit == unit))
    )
    enough = len(rows) >= MIN_SHOWN
    scores = {
        name: round(sum(getattr(r, name) for r in rows) / len(rows), 2) if enough else None
        for name in ("timeliness", "effectiveness", "cooperation")
    }
    return {
        "period": period,
        "unit": unit,
        "evaluations": len(rows),
        "enough": enough,
        "note": None if enough else TOO_FEW,
        **scores,
    }


def span(period: EvaluationPeriod) -> tuple[datetime, datetime]:
    """The period as instants [start, end): its first day to the day after its last, Shanghai."""
    start = datetime.combine(period.starts, time.min, SHANGHAI)
    return start, datetime.combine(period.ends + timedelta(days=1), time.min, SHANGHAI)


def todo(session: Session, *, user: User, period: str) -> list[dict[str, object]]:
    """The line departments a 街镇 worked with in the period (shared tickets, whistles)."""
    subdistrict = _own_subdistrict(user)
    worked = worked_with(session, subdistrict=subdistrict, period=get_period(session, period))
    done = {
        row.unit: row.id
        for row in session.exec(
            select(Evaluation).where(
                Evaluation.period == period, Evaluation.subdistrict == subdistrict
            )
        )
    }
    return [
        {
            "unit": unit,
            "ticket_ids": sorted(tickets),
            "whistle_ids": sorted(whistles),
            "evaluation_id": done.get(unit),
        }
        for unit, (tickets, whistles) in sorted(worked.items())
    ]


def worked_with(
    session: Session, *, subdistrict: str, period: EvaluationPeriod
) -> dict[str, tuple[set[int], set[int]]]:
    """The line departments a 街镇 worked with in a period, with the shared tickets and whistles.

    The one definition of whom a 街镇 may evaluate: the to-do list and the checks share it.
    """
    start, end = span(period)
    mine = select(Assignment.ticket_id).where(Assignment.unit_code == subdistrict)
    shared = session.exec(
        select(Assignment.unit_code, Assignment.ticket_id)
        .join(Ticket, col(Ticket.id) == Assignment.ticket_id)
        .join(Unit, col(Unit.code) == Assignment.unit_code)
        .where(
            col(Unit.kind).in_(EVALUATED_KINDS),
            col(Assignment.created_at) >= start,
            col(Assignment.created_at) < end,
            or_(col(Ticket.subdistrict) == subdistrict, col(Assignment.ticket_id).in_(mine)),
        )
    ).all()
    called = session.exec(
        select(WhistleCall.unit_code, WhistleCall.whistle_id)
        .join(Whistle, col(Whistle.id) == WhistleCall.whistle_id)
        .where(
            Whistle.subdistrict == subdistrict,
            col(Whistle.created_at) >= start,
            col(Whistle.created_at) < end,
        )
    ).all()
    worked: dict[str, tuple[set[int], set[int]]] = {}
    for unit, ticket_id in shared:
        worked.setdefault(unit, (set(), set()))[0].add(ticket_id)
    for unit, whistle_id in called:
        worked.setdefault(unit, (set(), set()))[1].add(whistle_id)
    return worked


def periods(session: Session) -> list[EvaluationPeriod]:
    """Every period, the newest first."""
    newest_first = col(EvaluationPeriod.starts).desc()
    return list(session.exec(select(EvaluationPeriod).order_by(newest_first)))


def roll_periods(session: Session, *, today: date, grace_days: int) -> tuple[str | None, list[str]]:
    """On schedule: open this month's period if missing; close those ended `grace_days` ago."""
    month = today.strftime("%Y-%m")
    opened = None
    if session.get(EvaluationPeriod, month) is None:
        opened = open_period(session, period=month).period
    cutoff = today - timedelta(days=grace_days)
    due = session.exec(
        select(EvaluationPeriod).where(
            EvaluationPeriod.status == PeriodStatus.OPEN, col(EvaluationPeriod.ends) < cutoff
        )
    ).all()
    for row in due:
        close_period(session, period=row.period)
    return opened, [row.period for row in due]
