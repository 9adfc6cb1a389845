"""HTTP routes of the security audit log: for auditors only, administrators included out."""

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from accounts import audit
from accounts.audit_schemas import AuditPage, AuditRecordOut, AuditVerification
from accounts.dependencies import CurrentAuditor, audit_read
from core.db import SessionDep
from core.downloads import attachment
from core.validation import Code, Instant, Line, PageOffset, PageSize
from models import AuditAction, AuditRecord

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
# An export holds at most this many records; narrow the period for more.
EXPORT_CAP = 100_000
COLUMNS = [
    ("seq", "序号"),
    ("at", "时间"),
    ("actor", "操作人"),
    ("role", "角色"),
    ("action", "操作"),
    ("outcome", "结果"),
    ("address", "来源地址"),
    ("target", "对象"),
    ("detail", "说明"),
    ("hash", "哈希"),
]


def _filters(
    since: Annotated[Instant | None, Query(alias="from", description="At or after.")] = None,
    until: Annotated[Instant | None, Query(alias="to", description="Before.")] = None,
    action: Annotated[Code | None, Query(description="e.g. sign_in, contact_reveal.")] = None,
    actor: Annotated[Line | None, Query(description="The actor as recorded.")] = None,
    outcome: Annotated[Code | None, Query(description="success, failure or refused.")] = None,
    target: Annotated[Line | None, Query(description="e.g. ticket:12, user:5.")] = None,
) -> audit.Filters:
    """What the auditor looks for, from the query."""
    return audit.Filters(since, until, action, actor, outcome, target)


Filters = Annotated[audit.Filters, Depends(_filters)]


def _out(row: AuditRecord) -> AuditRecordOut:
    return AuditRecordOut.model_validate(row, from_attributes=True)


@router.get("/records", response_model=AuditPage)
def records(
    _user: CurrentAuditor,
    session: SessionDep,
    filters: Filters,
    limit: PageSize = 50,
    offset: PageOffset = 0,
) -> AuditPage:
    """Audit records, newest first, filtered by time, action, actor, outcome and target."""
    total, rows = audit.search(session, filters=filters, limit=limit, offset=offset)
    return AuditPage(count=total, limit=limit, offset=offset, items=[_out(r) for r in rows])


@router.get(
    "/records/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with a BOM."}},
)
def export(
    user: CurrentAuditor,
    request: Request,
    session: SessionDep,
    filters: Filters,
) -> Response:
    """The matching records, oldest first, as a CSV with Chinese headers (at most 100,000)."""
    rows = audit.matching(session, filters=filters, cap=EXPORT_CAP)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([header for _, header in COLUMNS])
    for row in rows:
        writer.writerow([_cell(getattr(row, key)) for key, _ in COLUMNS])
    audit_read(request, user, AuditAction.EXPORT, target="audit", detail=f"rows={len(rows)}")
    return Response(
        ("\ufeff" + text.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment("qisu-audit.csv")},
    )


def _cell(value: object) -> str:
    text = "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
    # A cell that a spreadsheet would run as a formula is quoted (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@router.get("/verify", response_model=AuditVerification)
def verify(_user: CurrentAuditor, session: SessionDep) -> AuditVerification:
    """Walk the hash chain: whether any record was edited or deleted."""
    found = audit.verify(session)
    return AuditVerification(
        ok=not found.problems, count=found.count, head=found.head, problems=found.problems
    )
