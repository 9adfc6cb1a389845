"""HTTP endpoints: 街镇吹哨、部门报到."""

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlmodel import Session, col, select

from accounts.dependencies import CurrentUser
from core.db import SessionDep
from core.validation import PathId
from deadlines.policy import PolicyDep
from evaluations import whistles
from evaluations.schemas import (
    CallPublic,
    ClockPublic,
    ConfirmIn,
    OutcomeIn,
    ReopenIn,
    ReportIn,
    WhistleIn,
    WhistlePublic,
)
from models import Deadline, Whistle, WhistleStatus, id_of

router = APIRouter(prefix="/api/v1", tags=["whistles"])


def present(session: Session, whistle: Whistle) -> WhistlePublic:
    """A whistle with each department's state and its latest deadline."""
    clocks = session.exec(
        select(Deadline).where(Deadline.whistle_id == whistle.id).order_by(col(Deadline.id))
    ).all()
    latest = {row.unit_code: row for row in clocks}  # the last started wins
    return WhistlePublic(
        id=id_of(whistle),
        subdistrict=whistle.subdistrict,
        text=whistle.text,
        ticket_ids=whistle.ticket_ids,
        status=whistle.status,
        escalation_level=whistle.escalation_level,
        created_at=whistle.created_at,
        calls=[
            CallPublic(
                unit=call.unit_code,
                state=call.state,
                contact=call.contact,
                plan=call.plan,
                reported_at=call.reported_at,
                outcome=call.outcome,
                outcome_at=call.outcome_at,
                confirmed_at=call.confirmed_at,
                sent_back=call.sent_back,
                deadline=(
                    ClockPublic(stage=clock.stage, status=clock.status, due_at=clock.due_at)
                    if (clock := latest.get(call.unit_code))
                    else None
                ),
            )
            for call in whistles.calls(session, whistle_id=id_of(whistle))
        ],
    )


@router.post("/whistles", response_model=WhistlePublic, status_code=status.HTTP_201_CREATED)
def raise_whistle(
    body: WhistleIn, session: SessionDep, policy: PolicyDep, user: CurrentUser
) -> WhistlePublic:
    """吹哨: a 街镇 calls line departments in; each must report in before its deadline."""
    whistle = whistles.raise_whistle(
        session,
        user=user,
        units=body.units,
        text=body.text,
        ticket_ids=body.ticket_ids,
        policy=policy,
    )
    return present(session, whistle)


@router.get("/whistles", response_model=list[WhistlePublic])
def list_whistles(
    session: SessionDep,
    user: CurrentUser,
    unit: Annotated[str | None, Query(description="Whistles calling this unit.")] = None,
    state: Annotated[WhistleStatus | None, Query(alias="status")] = None,
) -> list[WhistlePublic]:
    """The whistles the caller may see, newest first."""
    found = whistles.listing(session, user=user, unit=unit, status=state)
    return [present(session, w) for w in found]


@router.get("/whistles/{whistle_id}", response_model=WhistlePublic)
def get_whistle(whistle_id: PathId, session: SessionDep, user: CurrentUser) -> WhistlePublic:
    """One whistle."""
    return present(session, whistles.get(session, whistle_id=whistle_id, user=user))


@router.post("/whistles/{whistle_id}/report", response_model=WhistlePublic)
def report(
    whistle_id: PathId, body: ReportIn, session: SessionDep, policy: PolicyDep, user: CurrentUser
) -> WhistlePublic:
    """报到: the department names its contact and plan."""
    whistle = whistles.report(
        session,
        policy=policy,
        whistle_id=whistle_id,
        user=user,
        unit=body.unit,
        contact=body.contact,
        plan=body.plan,
    )
    return present(session, whistle)


@router.post("/whistles/{whistle_id}/outcome", response_model=WhistlePublic)
def outcome(
    whistle_id: PathId, body: OutcomeIn, session: SessionDep, user: CurrentUser
) -> WhistlePublic:
    """The department reports what it did."""
    whistle = whistles.outcome(
        session, whistle_id=whistle_id, user=user, unit=body.unit, content=body.content
    )
    return present(session, whistle)


@router.post("/whistles/{whistle_id}/confirm", response_model=WhistlePublic)
def confirm(
    whistle_id: PathId, session: SessionDep, user: CurrentUser, body: ConfirmIn | None = None
) -> WhistlePublic:
    """The 街镇 accepts an outcome."""
    unit = body.unit if body else None
    return present(session, whistles.confirm(session, whistle_id=whistle_id, user=user, unit=unit))


@router.post("/whistles/{whistle_id}/reopen", response_model=WhistlePublic)
def reopen(
    whistle_id: PathId, body: ReopenIn, session: SessionDep, policy: PolicyDep, user: CurrentUser
) -> WhistlePublic:
    """The 街镇 sends an outcome back."""
    whistle = whistles.reopen(
        session,
        whistle_id=whistle_id,
        user=user,
        unit=body.unit,
        reason=body.reason,
        policy=policy,
    )
    return present(session, whistle)
