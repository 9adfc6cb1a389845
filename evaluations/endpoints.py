"""HTTP endpoints: evaluation periods and reverse evaluations (反向评价)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from accounts.dependencies import CurrentUser, require_roles
from core.db import SessionDep
from core.errors import InvalidInput
from core.validation import PathId, PeriodName
from evaluations import service
from evaluations.schemas import (
    EvaluationIn,
    EvaluationPatch,
    EvaluationPublic,
    EvaluationSummary,
    PeriodIn,
    PeriodPublic,
    TodoItem,
)
from models import Evaluation, EvaluationPeriod, Role, User

router = APIRouter(prefix="/api/v1", tags=["evaluations"])
Supervisor = Annotated[User, Depends(require_roles(Role.SUPERVISOR))]


def _public(row: Evaluation, user: User) -> EvaluationPublic:
    shown = EvaluationPublic.model_validate(row, from_attributes=True)
    if user.role == Role.UNIT_HANDLER:  # a department reads what was said, not who said it
        hidden = dict.fromkeys(("id", "subdistrict", "created_at", "updated_at"), None)
        scores = dict.fromkeys(("timeliness", "effectiveness", "cooperation"), None)
        return shown.model_copy(update={**hidden, **scores, "ticket_ids": [], "whistle_ids": []})
    return shown


@router.post(
    "/evaluation-periods", response_model=PeriodPublic, status_code=status.HTTP_201_CREATED
)
def open_period(body: PeriodIn, session: SessionDep, user: Supervisor) -> EvaluationPeriod:
    """Open a period for evaluations (a supervisor)."""
    return service.open_period(session, period=body.period, starts=body.starts, ends=body.ends)


@router.post("/evaluation-periods/{period}/close", response_model=PeriodPublic)
def close_period(period: PeriodName, session: SessionDep, user: Supervisor) -> EvaluationPeriod:
    """Close a period: its evaluations are frozen from now on."""
    return service.close_period(session, period=period)


@router.get("/evaluation-periods", response_model=list[PeriodPublic])
def list_periods(session: SessionDep, user: CurrentUser) -> list[EvaluationPeriod]:
    """Every period, the newest first."""
    return service.periods(session)


@router.post("/evaluations", response_model=EvaluationPublic, status_code=status.HTTP_201_CREATED)
def create_evaluation(
    body: EvaluationIn, session: SessionDep, user: CurrentUser
) -> EvaluationPublic:
    """A 街镇 scores a line department for a period (as its own 街镇, once)."""
    row = service.create(
        session,
        user=user,
        period=body.period,
        unit=body.unit,
        timeliness=body.timeliness,
        effectiveness=body.effectiveness,
        cooperation=body.cooperation,
        comment=body.comment,
        whistle_ids=body.whistle_ids,
        ticket_ids=body.ticket_ids,
    )
    return _public(row, user)


@router.patch("/evaluations/{evaluation_id}", response_model=EvaluationPublic)
def edit_evaluation(
    evaluation_id: PathId, body: EvaluationPatch, session: SessionDep, user: CurrentUser
) -> EvaluationPublic:
    """Change one's own evaluation while the period is open."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput("nothing to change")
    row = service.update(session, user=user, evaluation_id=evaluation_id, changes=changes)
    return _public(row, user)


@router.get("/evaluations", response_model=list[EvaluationPublic])
def list_evaluations(
    session: SessionDep,
    user: CurrentUser,
    period: Annotated[PeriodName | None, Query(description="e.g. 2026-11")] = None,
) -> list[EvaluationPublic]:
    """The evaluations the caller may see."""
    return [_public(row, user) for row in service.visible(session, user=user, period=period)]


@router.get("/evaluations/summary", response_model=EvaluationSummary)
def evaluation_summary(
    session: SessionDep,
    user: CurrentUser,
    period: Annotated[PeriodName, Query()],
    unit: Annotated[str | None, Query(max_length=64, description="Your own by default.")] = None,
) -> dict[str, object]:
    """A department's averages for the period: shown from three evaluations, else 评价数不足."""
    target = unit or user.unit_code
    if not target:
        raise InvalidInput("name the department (unit)", field="unit")
    return service.summary(session, user=user, period=period, unit=target)


@router.get("/evaluations/todo", response_model=list[TodoItem])
def evaluation_todo(
    session: SessionDep, user: CurrentUser, period: Annotated[PeriodName, Query()]
) -> list[dict[str, object]]:
    """The departments a 街镇 worked with in the period, evaluated or not yet."""
    return service.todo(session, user=user, period=period)
