"""HTTP endpoints: department rankings (晾晒) and their export."""

import csv
import io
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from accounts.dependencies import CurrentUser, audit_read
from core.db import SessionDep
from core.downloads import attachment
from core.validation import PeriodName
from deadlines.policy import PolicyDep, SlaPolicy
from evaluations import rankings
from models import AuditAction, Role, User

router = APIRouter(prefix="/api/v1", tags=["rankings"])

# Export columns: the key in a row, and its Chinese header.
COLUMNS = [
    ("rank", "排名"),
    ("name", "单位"),
    ("unit", "单位代码"),
    ("score", "综合得分"),
    ("previous_rank", "上期排名"),
    ("score_change", "得分变化"),
    ("evaluations", "评价数"),
    ("evaluation_note", "评价说明"),
    ("timeliness", "响应及时（均分）"),
    ("effectiveness", "解决实效（均分）"),
    ("cooperation", "协同配合（均分）"),
    ("whistle_report_on_time_rate", "吹哨报到及时率"),
    ("acknowledged_on_time_rate", "签收及时率"),
    ("replied_on_time_rate", "按时办结率"),
    ("satisfaction_rate", "满意率"),
    ("return_rate", "退单率"),
    ("repeat_rate", "重复投诉率"),
]


def app_weights(request: Request) -> dict[str, float]:
    """The ranking weights the app loaded at its start (Settings.ranking_weights)."""
    weights: dict[str, float] = request.app.state.weights
    return weights


WeightsDep = Annotated[dict[str, float], Depends(app_weights)]


def _rows(
    session: Any, user: User, period: str, weights: dict[str, float], policy: SlaPolicy
) -> list[dict[str, Any]]:
    cards = rankings.rank(session, period=period, weights=weights, calendar=policy.calendar)
    if user.role == Role.UNIT_HANDLER:  # a department sees its own scorecard
        cards = [c for c in cards if c.unit == user.unit_code]
    return [
        {
            "unit": c.unit,
            "name": c.name,
            "rank": c.rank,
            "score": c.score,
            "previous_rank": c.previous_rank,
            "score_change": c.score_change,
            "evaluations": c.evaluations,
            "evaluation_note": c.evaluation_note,
            **{k: v for k, v in c.figures.items() if k not in c.averages},
            **c.averages,  # the evaluation scores as their 1..5 means
        }
        for c in cards
    ]


PeriodQuery = Annotated[PeriodName, Query(description="e.g. 2026-11")]
# What a spreadsheet's sheet title may not hold (Excel's rule).
_NOT_IN_SHEET = re.compile(r"[\\/*?:\[\]]")


def sheet_title(period: str) -> str:
    """The period as a sheet title: at most 31 characters, none that Excel refuses."""
    return _NOT_IN_SHEET.sub("_", period)[:31] or "ranking"


@router.get("/rankings")
def ranking(
    period: PeriodQuery,
    session: SessionDep,
    user: CurrentUser,
    weights: WeightsDep,
    policy: PolicyDep,
) -> list[dict[str, Any]]:
    """Line departments by composite score, best first, with every figure and the change."""
    return _rows(session, user, period, weights, policy)


@router.get("/rankings/export")
def export(
    period: PeriodQuery,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    weights: WeightsDep,
    policy: PolicyDep,
    file_format: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
) -> Response:
    """The ranking as a spreadsheet with Chinese column headers (the export is audited)."""
    rows = _rows(session, user, period, weights, policy)
    audit_read(request, user, AuditAction.EXPORT, target=f"ranking:{period}", detail=file_format)
    table = [[header for _, header in COLUMNS]] + [[r[k] for k, _ in COLUMNS] for r in rows]
    name = f"qisu-ranking-{period}"
    if file_format == "csv":
        text = io.StringIO()
        csv.writer(text).writerows(table)
        # A BOM so that Excel opens the Chinese headers as UTF-8.
        return Response(
            ("\ufeff" + text.getvalue()).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": attachment(f"{name}.csv")},
        )
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title(period)
    for line in table:
        sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": attachment(f"{name}.xlsx")},
    )
