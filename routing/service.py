"""Routing a ticket: locality, the classifier, repeats and screening, then item 52's decision."""

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import ColumnElement, func, update
from sqlmodel import Session, col, select

from core import metrics
from models import (
    AUTHORITY_HOLDERS,
    Enterprise,
    RoutingDecision,
    Ticket,
    TicketEmbedding,
    Unit,
    UnitKind,
    id_of,
    utcnow,
)
from routing import locality, model, repeats, screening
from routing.repeats import Match
from routing.returns import named_units
from routing.rules import Decision, Inputs, decide
from routing.settings import RoutingSettings
from units import service as units_service

log = logging.getLogger("qisu.routing")


@dataclass(frozen=True)
class Assessment:
    """A decision and what it was made from; nothing is stored yet."""

    decision: Decision
    locality: locality.Locality
    model_version: str | None
    embedding: np.ndarray | None
    repeats: list[Match]
    weighed: list[Match] = field(default_factory=list)  # every candidate, scored
    repeat_method: str | None = None


@dataclass(frozen=True)
class Appeal:
    """What routing reads of an appeal."""

    text: str
    address: str
    at: datetime
    enterprise_code: str | None = None
    phone: str | None = None
    title: str | None = None

    @property
    def words(self) -> str:
        """What the classifier and the repeat check read: the title, then the text."""
        return " ".join(part for part in (self.title, self.text) if part)


@dataclass(frozen=True)
class Reading:
    """What the classifier made of an appeal's words, or why it could not."""

    analysis: model.Analysis | None
    failure: str | None = None


def read(appeal: Appeal, settings: RoutingSettings, serving: model.ServingModel) -> Reading:
    """The served encoder's one pass over an appeal. It needs no session, so a caller runs it
    before its transaction's first statement and no database lock is held while the model runs."""
    if not (screening.readable(appeal.words) and settings.enabled):
        return Reading(None)
    try:
        return Reading(serving.analyse(appeal.words))
    except model.NoModel:
        return Reading(None)
    except model.ModelUnavailable as exc:
        log.warning("routing without a model: %s", exc)
        return Reading(None, str(exc))


def line_units(session: Session) -> frozenset[str]:
    """Codes of the active units that hold authority: line units, utilities, coordinators."""
    query = select(Unit.code).where(
        col(Unit.kind).in_(AUTHORITY_HOLDERS), col(Unit.active).is_(True)
    )
    return units_service.per_session(session, "line units", lambda: frozenset(session.exec(query)))


def assess(
    session: Session,
    *,
    appeal: Appeal,
    settings: RoutingSettings,
    serving: model.ServingModel,
    reading: Reading | None = None,
    exclude_id: int | None = None,
    exclude_territorial: bool = False,
    flags: tuple[str, ...] = (),
    returns: int = 0,
    reason: str | None = None,
) -> Assessment:
    """Everything routing concludes about an appeal, read-only; `reading` is the encoder's pass
    when the caller made it already (`read`)."""
    reading = reading or read(appeal, settings, serving)
    analysis, failure = reading.analysis, reading.failure
    enterprise = session.get(Enterprise, appeal.enterprise_code) if appeal.enterprise_code else None
    place = locality.from_address(
        appeal.address, registered=enterprise.subdistrict if enterprise else None
    )
    scored = repeats.Scored([], [], "no model")
    if analysis is not None:
        scored = repeats.find(
            session,
            appeal=repeats.NewAppeal(
                text=appeal.words,
                vector=analysis.embedding,
                probabilities=analysis.probabilities,
                enterprise_code=appeal.enterprise_code,
                phone=appeal.phone,
                address=appeal.address,
                at=appeal.at,
                enterprise_name=enterprise.name if enterprise else None,
            ),
            scorer=analysis.repeat_scorer,
            scorer_failure=analysis.repeat_scorer_failure,
            settings=settings,
            exclude_id=exclude_id,
        )
    found = scored.matches
    screened = list(flags)
    for flag in ([screening.REPEAT] if found else []) + screening.text_flags(appeal.words):
        if flag not in screened:
            screened.append(flag)
    inputs = Inputs(
        probabilities=analysis.probabilities if analysis else None,
        locality=place,
        screened_by=tuple(screened),
        line_units=line_units(session),
        on_site_units=frozenset(settings.on_site_units),
        exclude_territorial=exclude_territorial,
        returns=returns,
        failure=failure,
        readable=screening.readable(appeal.words),
        named=tuple(named_units(session, reason=reason)) if reason and exclude_territorial else (),
    )
    return Assessment(
        decision=decide(inputs, settings),
        locality=place,
        model_version=analysis.model_version if analysis else None,
        embedding=analysis.embedding if analysis else None,
        repeats=found,
        weighed=scored.weighed,
        repeat_method=scored.method,
    )


def appeal_of(ticket: Ticket) -> Appeal:
    """A stored ticket as routing reads it."""
    return Appeal(
        text=ticket.text,
        title=ticket.title,
        address=ticket.address,
        at=ticket.received_at,
        enterprise_code=ticket.enterprise_code,
        phone=ticket.contact_phone,
    )


def record(
    session: Session, *, ticket: Ticket, assessment: Assessment, trigger: str
) -> RoutingDecision:
    """Store the decision, and at intake the embedding, in the caller's transaction."""
    decision = assessment.decision
    row = RoutingDecision(
        ticket_id=id_of(ticket),
        trigger=trigger,
        model_version=assessment.model_version,
        rule=decision.rule,
        dispatched=decision.lead_unit is not None,
        lead_unit=decision.lead_unit,
        assist_units=decision.assist_units,
        subdistrict=decision.subdistrict,
        locality_source=assessment.locality.source,
        locality_matched=assessment.locality.matched,
        confidence=decision.confidence,
        candidates=[asdict(c) for c in decision.candidates],
        screened_by=decision.screened_by,
        reasons=decision.reasons,
        repeats=[
            {"ticket_id": m.ticket_id, "root_id": m.root_id, "similarity": round(m.similarity, 4)}
            for m in assessment.repeats[:5]
        ],
        repeat_scores=[
            {"ticket_id": m.ticket_id, "score": round(m.similarity, 4)}
            for m in assessment.weighed[:5]
        ],
        repeat_method=assessment.repeat_method,
    )
    session.add(row)
    metrics.ROUTING_DECISIONS.labels(decision.rule, trigger).inc()
    if assessment.embedding is not None and trigger == "intake":
        session.add(
            TicketEmbedding(
                ticket_id=id_of(ticket),
                model_version=assessment.model_version or "",
                vector=repeats.to_bytes(assessment.embedding),
            )
        )
    session.flush()
    return row


_NAMED = {"name", "generic name", "gazetteer"}


def learn_subdistrict(
    session: Session, *, enterprise: Enterprise, where: locality.Locality
) -> str | None:
    """An enterprise without a registered 街镇 takes the one its address names: that 街镇, if so."""
    if enterprise.subdistrict is not None or where.source not in _NAMED:
        return None
    enterprise.subdistrict = where.subdistrict
    session.add(enterprise)
    return enterprise.subdistrict


# A ticket's newest routing decision is the one with the highest id: each is a new row.
def latest_decisions(session: Session, *, ticket_ids: Sequence[int]) -> dict[int, RoutingDecision]:
    """The newest routing decision of each ticket."""
    latest: dict[int, RoutingDecision] = {}
    if ticket_ids:
        query = select(RoutingDecision).where(col(RoutingDecision.ticket_id).in_(ticket_ids))
        for row in session.exec(query.order_by(col(RoutingDecision.id))):
            latest[row.ticket_id] = row
    return latest


def latest_rule_is(rule: str) -> ColumnElement[bool]:
    """Tickets whose newest routing decision fired this rule."""
    latest = select(func.max(RoutingDecision.id)).group_by(col(RoutingDecision.ticket_id))
    decided = select(RoutingDecision.ticket_id).where(
        RoutingDecision.rule == rule, col(RoutingDecision.id).in_(latest)
    )
    return col(Ticket.id).in_(decided)


def judge(session: Session, *, ticket_id: int, lead_unit: str, kind: UnitKind) -> None:
    """An operator dispatched the ticket: the decisions it settles are right or wrong."""
    now = utcnow()
    label = "territorial" if kind == UnitKind.SUBDISTRICT else lead_unit
    query = select(RoutingDecision).where(
        RoutingDecision.ticket_id == ticket_id,
        col(RoutingDecision.corrected_unit).is_(None),
        col(RoutingDecision.correct).is_not(True),
    )
    for row in session.exec(query):
        proposed = proposal(row)
        if row.correct is False or proposed is None or proposed != label:
            row.correct, row.corrected_unit = False, lead_unit
        else:
            row.correct = True
        row.judged_at = now
        session.add(row)


def proposal(row: RoutingDecision) -> str | None:
    """The unit a decision proposed: its lead (territorial for a 街镇), else its best candidate."""
    if row.rule == "territorial":
        return "territorial"
    if row.lead_unit:
        return row.lead_unit
    return row.candidates[0]["unit"] if row.candidates else None


def mark(session: Session, *, ticket_id: int, correct: bool) -> None:
    """A return (wrong) or a closed loop (right) settles the ticket's automatic dispatch."""
    # One UPDATE, not a SELECT and an UPDATE a row; rows the session holds are updated too.
    session.execute(
        update(RoutingDecision)
        .where(
            col(RoutingDecision.ticket_id) == ticket_id,
            col(RoutingDecision.dispatched).is_(True),
            col(RoutingDecision.correct).is_(None),
        )
        .values(correct=correct, judged_at=utcnow())
    )
