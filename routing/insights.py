"""What routing's history tells: online accuracy, 一类事 clusters, similar cases, feedback."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, and_, case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models import (
    Enterprise,
    RepeatLink,
    RoutingDecision,
    Ticket,
    TicketEmbedding,
    TicketEvent,
    Unit,
    UnitKind,
    id_of,
)
from routing.repeats import blend, from_bytes
from routing.service import proposal

# How many earlier answered tickets a similar-case lookup compares at most (newest first).
SIMILAR_POOL = 5000
ANSWERING = ("reply", "close")  # the actions after which a ticket counts as answered


@dataclass
class Accuracy:
    """How often one model version's decisions were right, as operators and the loop judged."""

    model_version: str | None
    decisions: int = 0
    dispatched: int = 0  # sent on by routing itself
    judged: int = 0
    correct: int = 0
    dispatched_judged: int = 0
    dispatched_correct: int = 0

    @property
    def accuracy(self) -> float | None:
        """Share of judged decisions that were right."""
        return round(self.correct / self.judged, 4) if self.judged else None

    @property
    def dispatched_accuracy(self) -> float | None:
        """Share of routing's own dispatches that were right."""
        if not self.dispatched_judged:
            return None
        return round(self.dispatched_correct / self.dispatched_judged, 4)


def accuracy(session: Session, *, since: datetime, until: datetime) -> list[Accuracy]:
    """Online accuracy per model version of decisions made in [since, until), one grouped query."""

    def count(*conditions: ColumnElement[bool]) -> Any:
        return func.sum(case((and_(*conditions), 1), else_=0))

    dispatched = col(RoutingDecision.dispatched).is_(True)
    judged = col(RoutingDecision.correct).is_not(None)
    right = col(RoutingDecision.correct).is_(True)
    rows = session.execute(
        sa_select(
            col(RoutingDecision.model_version),
            func.count(),
            count(dispatched),
            count(judged),
            count(right),
            count(dispatched, judged),
            count(dispatched, right),
        )
        .where(col(RoutingDecision.created_at) >= since, col(RoutingDecision.created_at) < until)
        .group_by(col(RoutingDecision.model_version))
    ).all()
    figures = [
        Accuracy(
            version,
            decisions=int(n),
            dispatched=int(d or 0),
            judged=int(j or 0),
            correct=int(c or 0),
            dispatched_judged=int(dj or 0),
            dispatched_correct=int(dc or 0),
        )
        for version, n, d, j, c, dj, dc in rows
    ]
    return sorted(figures, key=lambda a: a.model_version or "")


FEEDBACK_COLUMNS = ["ticket", "title", "text", "label", "proposed", "model_version"]


def feedback(session: Session, *, since: datetime, until: datetime) -> list[dict[str, str]]:
    """Tickets whose routing an operator corrected, as classifier training rows."""
    query = (
        select(RoutingDecision, Ticket)
        .join(Ticket, col(Ticket.id) == col(RoutingDecision.ticket_id))
        .where(col(RoutingDecision.correct).is_(False))
        .where(col(RoutingDecision.corrected_unit).is_not(None))
        .where(col(RoutingDecision.judged_at) >= since, col(RoutingDecision.judged_at) < until)
        .order_by(col(RoutingDecision.id))
    )
    areas = set(session.exec(select(Unit.code).where(Unit.kind == UnitKind.SUBDISTRICT)))
    rows: dict[int, dict[str, str]] = {}
    for decision, ticket in session.exec(query):
        # The label is the operator's unit; a 街镇 stands for the territorial class.
        unit = decision.corrected_unit or ""
        label = "territorial" if unit in areas else unit
        rows[id_of(ticket)] = {
            "ticket": str(ticket.id),
            "title": ticket.title or "",
            "text": ticket.text,
            "label": label,
            "proposed": proposal(decision) or "",
            "model_version": decision.model_version or "",
        }
    return list(rows.values())


def repeat_feedback(session: Session, *, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The pairs operators settled (linked as a repeat, or unlinked), as the pair scorer's
    training rows: both texts and what intake knew of the pair. The latest word on a pair wins."""
    query = (
        select(RepeatLink)
        .where(col(RepeatLink.created_at) >= since, col(RepeatLink.created_at) < until)
        .order_by(col(RepeatLink.id))
    )
    links = list(session.exec(query))
    ids = {link.ticket_id for link in links} | {link.earlier_id for link in links}
    tickets = {t.id: t for t in session.exec(select(Ticket).where(col(Ticket.id).in_(ids)))}
    codes = {t.enterprise_code for t in tickets.values() if t.enterprise_code}
    names = dict(
        session.exec(
            select(Enterprise.credit_code, Enterprise.name).where(
                col(Enterprise.credit_code).in_(codes)
            )
        ).all()
    )
    # When each earlier ticket was first answered: what intake knew is whether it was by then.
    answers = select(TicketEvent.ticket_id, func.min(TicketEvent.at)).where(
        col(TicketEvent.ticket_id).in_(ids), col(TicketEvent.action).in_(ANSWERING)
    )
    answered = dict(session.exec(answers.group_by(col(TicketEvent.ticket_id))).all())
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    for link in links:
        new, old = tickets.get(link.ticket_id), tickets.get(link.earlier_id)
        if new is None or old is None:
            continue
        rows[(link.ticket_id, link.earlier_id)] = {
            "kind": "repeat",
            "ticket": link.ticket_id,
            "earlier": link.earlier_id,
            "text": " ".join(p for p in (new.title, new.text) if p),
            "earlier_text": " ".join(p for p in (old.title, old.text) if p),
            "repeat": link.linked,
            "gap_days": round((new.received_at - old.received_at).total_seconds() / 86400, 3),
            "earlier_answered": link.earlier_id in answered
            and answered[link.earlier_id] <= new.received_at,
            "same_phone": bool(new.contact_phone_key)
            and new.contact_phone_key == old.contact_phone_key,
            "same_address": new.address == old.address,
            # What both may say whatever the matter, left out before their contents compare.
            "shared": [
                s for s in (names.get(new.enterprise_code or ""), new.address, old.address) if s
            ],
            "score": link.score,
        }
    return list(rows.values())


@dataclass
class Cluster:
    """一类事: different enterprises raising the same matter with the same lead unit."""

    lead_unit: str
    tickets: list[int]
    enterprises: list[str]
    subdistricts: list[str]
    representative: int
    text: str
    first_received_at: datetime
    last_received_at: datetime
    enterprise_names: list[str] = field(default_factory=list)


def clusters(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    similarity: float,
    embedding_weight: float,
    min_enterprises: int = 2,
) -> list[Cluster]:
    """Groups of close texts from at least `min_enterprises` enterprises, largest first.

    Closeness is the repeat detector's blend of embedding cosine and shared character pairs.
    """
    query = (
        select(Ticket, TicketEmbedding.vector)
        .join(TicketEmbedding, col(TicketEmbedding.ticket_id) == col(Ticket.id))
        .where(col(Ticket.received_at) >= since, col(Ticket.received_at) < until)
        .where(col(Ticket.lead_unit).is_not(None))
    )
    by_unit: dict[str, list[tuple[Ticket, np.ndarray]]] = defaultdict(list)
    for ticket, vector in session.exec(query):
        by_unit[ticket.lead_unit or ""].append((ticket, from_bytes(vector)))
    found = []
    for unit, members in by_unit.items():
        texts = [t.text for t, _ in members]
        for group in _groups([v for _, v in members], texts, similarity, embedding_weight):
            tickets = [members[i][0] for i in group]
            if len({t.enterprise_code for t in tickets}) >= min_enterprises:
                found.append(_cluster(unit, tickets, [members[i][1] for i in group]))
    names = _enterprise_names(session, {c for f in found for c in f.enterprises})
    for cluster in found:
        cluster.enterprise_names = [names.get(code, "") for code in cluster.enterprises]
    return sorted(found, key=lambda c: (-len(c.tickets), c.first_received_at))


def _groups(
    vectors: list[np.ndarray], texts: list[str], similarity: float, embedding_weight: float
) -> list[list[int]]:
    """Connected groups of texts whose blended similarity reaches `similarity`."""
    if len(vectors) < 2:
        return []
    matrix = np.stack(vectors)
    cosines = matrix @ matrix.T
    # Character overlap is at most 1, so pairs whose cosine alone cannot reach it are skipped.
    floor = (similarity - (1 - embedding_weight)) / embedding_weight if embedding_weight else -1
    pairs = [
        (int(i), int(j))
        for i, j in zip(*np.nonzero(np.triu(cosines >= floor, k=1)), strict=True)
        if blend(cosines[i, j], texts[i], texts[j], embedding_weight=embedding_weight) >= similarity
    ]
    parent = list(range(len(vectors)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        parent[root(i)] = root(j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(vectors)):
        groups[root(i)].append(i)
    return [g for g in groups.values() if len(g) > 1]


def _cluster(unit: str, tickets: list[Ticket], vectors: list[np.ndarray]) -> Cluster:
    # The representative is the text closest to all the others.
    matrix = np.stack(vectors)
    centre = int(np.argmax((matrix @ matrix.T).sum(axis=1)))
    received = [t.received_at for t in tickets]
    return Cluster(
        lead_unit=unit,
        tickets=sorted(id_of(t) for t in tickets),
        enterprises=sorted({t.enterprise_code for t in tickets}),
        subdistricts=sorted({t.subdistrict for t in tickets if t.subdistrict}),
        representative=id_of(tickets[centre]),
        text=tickets[centre].text,
        first_received_at=min(received),
        last_received_at=max(received),
    )


def _enterprise_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    query = select(Enterprise).where(col(Enterprise.credit_code).in_(codes))
    return {e.credit_code: e.name for e in session.exec(query)}


@dataclass(frozen=True)
class Similar:
    """An earlier answered ticket close to this one: the knowledge an operator needs (item 15)."""

    ticket_id: int
    similarity: float
    received_at: datetime
    lead_unit: str | None
    title: str | None
    text: str
    reply: str | None


def similar(
    session: Session, *, vector: np.ndarray, before: datetime, exclude_id: int, k: int = 5
) -> list[Similar]:
    """The k earlier tickets with a reply whose texts are closest to the vector."""
    query = (
        select(Ticket, TicketEmbedding.vector)
        .join(TicketEmbedding, col(TicketEmbedding.ticket_id) == col(Ticket.id))
        .where(col(Ticket.reply).is_not(None), col(Ticket.id) != exclude_id)
        .where(col(Ticket.received_at) <= before)
        .order_by(col(Ticket.received_at).desc())
        .limit(SIMILAR_POOL)
    )
    rows = list(session.exec(query))
    if not rows:
        return []
    scores = np.stack([from_bytes(v) for _, v in rows]) @ vector.astype(np.float32)
    best = np.argsort(-scores)[:k]
    return [
        Similar(
            ticket_id=id_of(rows[i][0]),
            similarity=round(float(scores[i]), 4),
            received_at=rows[i][0].received_at,
            lead_unit=rows[i][0].lead_unit,
            title=rows[i][0].title,
            text=rows[i][0].text,
            reply=rows[i][0].reply,
        )
        for i in best
    ]


def embedding_of(session: Session, *, ticket_id: int) -> np.ndarray | None:
    """A ticket's stored embedding."""
    row = session.get(TicketEmbedding, ticket_id)
    return from_bytes(row.vector) if row else None


def tickets_brief(session: Session, *, ticket_ids: list[int]) -> dict[int, tuple[str, str]]:
    """The first 200 characters of each ticket's text, and its status."""
    if not ticket_ids:
        return {}
    query = select(Ticket.id, Ticket.text, Ticket.status).where(col(Ticket.id).in_(ticket_ids))
    return {tid or 0: (text[:200], str(status)) for tid, text, status in session.exec(query)}
