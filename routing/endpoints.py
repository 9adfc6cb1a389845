"""HTTP routes of routing: preview, online accuracy, 一类事 clusters and similar cases."""

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from accounts.dependencies import require_roles
from core.db import ReadSessionDep, SessionDep
from core.errors import NotFound
from core.timezone import local_span
from core.validation import Instant, PathId
from models import Role, Ticket, User, utcnow
from routing import insights, model, service
from routing.model import ServingModelDep
from routing.schemas import (
    AccuracyOut,
    AccuracyReport,
    CandidateOut,
    ClusterOut,
    DecisionOut,
    PreviewIn,
    PreviewOut,
    RepeatOut,
    SimilarOut,
)
from routing.settings import RoutingDep

router = APIRouter(prefix="/api/v1", tags=["routing"])

DeskUser = Annotated[User, Depends(require_roles(Role.OPERATOR, Role.SUPERVISOR))]
SupervisorUser = Annotated[User, Depends(require_roles(Role.SUPERVISOR))]
From = Annotated[
    Instant | None, Query(alias="from", description="Start; a time without offset is Shanghai's.")
]
To = Annotated[Instant | None, Query(alias="to", description="End (exclusive); default now.")]


def _span(since: datetime | None, until: datetime | None, days: int) -> tuple[datetime, datetime]:
    """The asked span, by default the last `days` days."""
    until = until or utcnow()
    return local_span(since or until - timedelta(days=days), until)


@router.post("/routing/preview", response_model=PreviewOut)
def preview(
    body: PreviewIn,
    session: ReadSessionDep,
    settings: RoutingDep,
    serving: ServingModelDep,
    user: DeskUser,
) -> PreviewOut:
    """What routing would decide for an appeal, its likely repeats and similar answered cases.

    Nothing is stored: a read-only session, so a preview never holds up a write.
    """
    at = body.received_at or utcnow()
    assessment = service.assess(
        session,
        appeal=service.Appeal(
            text=body.text,
            address=body.address,
            at=at,
            enterprise_code=body.credit_code,
            phone=body.phone,
        ),
        settings=settings,
        serving=serving,
    )
    decision = assessment.decision
    earlier = insights.tickets_brief(session, ticket_ids=[m.ticket_id for m in assessment.repeats])
    similar = (
        insights.similar(session, vector=assessment.embedding, before=at, exclude_id=0)
        if assessment.embedding is not None
        else []
    )
    return PreviewOut(
        routing=DecisionOut(
            lead_unit=decision.lead_unit,
            assist_units=decision.assist_units,
            subdistrict=decision.subdistrict,
            confidence=decision.confidence,
            rule=decision.rule,
            candidates=[
                CandidateOut(unit=c.unit, probability=c.probability) for c in decision.candidates
            ],
            screened_by=decision.screened_by,
            reasons=decision.reasons,
            model_version=assessment.model_version,
            locality_source=assessment.locality.source,
        ),
        repeats=[
            RepeatOut(
                ticket_id=m.ticket_id,
                root_id=m.root_id,
                similarity=round(m.similarity, 4),
                received_at=m.received_at,
                lead_unit=m.lead_unit,
                text=earlier.get(m.ticket_id, ("", ""))[0],
                status=earlier.get(m.ticket_id, ("", ""))[1],
            )
            for m in assessment.repeats
        ],
        similar=[SimilarOut(**vars(s)) for s in similar],
    )


@router.get("/routing/accuracy", response_model=AccuracyReport)
def accuracy(
    session: SessionDep, user: SupervisorUser, since: From = None, until: To = None
) -> AccuracyReport:
    """Online accuracy per model version: decisions judged by dispatch, returns and closes."""
    since, until = _span(since, until, days=30)
    versions = [
        AccuracyOut(
            **asdict(a),
            accuracy=a.accuracy,
            dispatched_accuracy=a.dispatched_accuracy,
        )
        for a in insights.accuracy(session, since=since, until=until)
    ]
    return AccuracyReport(since=since, until=until, versions=versions)


@router.get("/clusters", response_model=list[ClusterOut])
def clusters(
    session: SessionDep,
    settings: RoutingDep,
    user: SupervisorUser,
    since: From = None,
    until: To = None,
    min_enterprises: Annotated[int, Query(ge=2, le=100)] = 2,
) -> list[ClusterOut]:
    """一类事: different enterprises raising the same matter with the same lead unit."""
    since, until = _span(since, until, days=settings.cluster_window_days)
    found = insights.clusters(
        session,
        since=since,
        until=until,
        similarity=settings.cluster_similarity,
        embedding_weight=settings.repeat_embedding_weight,
        min_enterprises=min_enterprises,
    )
    return [ClusterOut(size=len(c.tickets), **vars(c)) for c in found]


@router.get("/tickets/{ticket_id}/similar", response_model=list[SimilarOut])
def similar(
    ticket_id: PathId, session: SessionDep, serving: ServingModelDep, user: DeskUser
) -> list[SimilarOut]:
    """The five most similar earlier tickets with a reply: how such matters were solved."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"工单 {ticket_id} 不存在，请核对工单编号")
    vector = insights.embedding_of(session, ticket_id=ticket_id)
    if vector is None:  # taken in while no model was active: encode it now, once
        try:
            vector = serving.analyse(service.appeal_of(ticket).words).embedding
        except model.ModelUnavailable:
            return []
    found = insights.similar(
        session, vector=vector, before=ticket.received_at, exclude_id=ticket_id
    )
    return [SimilarOut(**vars(s)) for s in found]
