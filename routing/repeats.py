"""Repeat complaints: earlier tickets of the same enterprise, phone or address with a close text."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Row, bindparam, func, or_, select
from sqlmodel import Session, col

from classifier import pairs
from classifier.repeat_scorer import PairFacts, RepeatScorer, Units, features, top_units
from core.phones import phone_key
from models import RoutingDecision, Ticket, TicketEmbedding, TicketStatus
from routing.settings import RoutingSettings

DTYPE = np.float16  # 768 bytes a ticket; cosine error below 1e-3
# An earlier ticket in one of these has been answered (replied to, or closed): an enterprise may
# well follow an answer up; the scorer learns how much that says from the operators' links.
ANSWERED = frozenset(
    {TicketStatus.REPLIED, TicketStatus.VERIFIED, TicketStatus.REOPENED, TicketStatus.CLOSED}
)


@dataclass(frozen=True)
class Match:
    """An earlier ticket close to the new text, and the root of its chain."""

    ticket_id: int
    root_id: int
    similarity: float
    received_at: datetime
    lead_unit: str | None


def to_bytes(vector: np.ndarray) -> bytes:
    """An embedding as stored."""
    return vector.astype(DTYPE).tobytes()


def from_bytes(raw: bytes) -> np.ndarray:
    """A stored embedding as float32."""
    return np.frombuffer(raw, dtype=DTYPE).astype(np.float32)


def overlap(a: str, b: str) -> float:
    """Share of the shorter text's character pairs found in the other (0 to 1)."""
    return pairs.overlap(a, b)


def blend(cosine: float, a: str, b: str, *, embedding_weight: float) -> float:
    """The fallback closeness of two appeals: embedding cosine and shared character pairs."""
    return embedding_weight * cosine + (1 - embedding_weight) * overlap(a, b)


@dataclass(frozen=True)
class Scored:
    """Every candidate weighed, best first, the ones that count as repeats, and how."""

    matches: list[Match]  # the repeats, best first
    weighed: list[Match]  # every candidate with its score, best first
    method: str  # "pair scorer", or the fallback blend and why


@dataclass(frozen=True)
class NewAppeal:
    """What the repeat check knows of the new appeal."""

    text: str
    vector: np.ndarray
    probabilities: dict[str, float]  # the classifier's, over its labels
    enterprise_code: str | None
    phone: str | None
    address: str | None
    at: datetime
    enterprise_name: str | None = None  # left out of both texts before their contents compare


def find(
    session: Session,
    *,
    appeal: NewAppeal,
    scorer: RepeatScorer | None,
    scorer_failure: str | None,
    settings: RoutingSettings,
    exclude_id: int | None = None,
) -> Scored:
    """Earlier tickets sharing the enterprise, phone or address within the window, scored.

    The pair scorer weighs each candidate from what intake knows (repeat_scorer.FEATURES);
    without one, the old blend of the embeddings' cosine and the share of character pairs
    decides, and the decision says why.
    """
    phone = phone_key(appeal.phone)  # phones are stored as given: +86 139…, 139-…, 139…
    shared = [
        column == value
        for column, value in (
            (col(Ticket.enterprise_code), appeal.enterprise_code),
            (col(Ticket.contact_phone_key), phone),
            (col(Ticket.address), appeal.address),
        )
        if value
    ]
    method = "pair scorer" if scorer is not None else f"blend (no pair scorer: {scorer_failure})"
    if not shared:
        return Scored([], [], method)
    query = (
        select(
            col(Ticket.id),
            col(Ticket.repeat_of),
            col(Ticket.received_at),
            col(Ticket.lead_unit),
            col(Ticket.title),
            col(Ticket.text),
            col(Ticket.address),
            col(Ticket.contact_phone_key),
            col(Ticket.status),
            col(TicketEmbedding.vector),
        )
        .join(TicketEmbedding, col(TicketEmbedding.ticket_id) == col(Ticket.id))
        .where(
            or_(*shared),
            col(Ticket.received_at) >= appeal.at - timedelta(days=settings.repeat_window_days),
        )
        .where(col(Ticket.received_at) <= appeal.at)
        .order_by(col(Ticket.received_at).desc())
        .limit(settings.candidate_limit)
    )
    if exclude_id is not None:
        query = query.where(col(Ticket.id) != exclude_id)
    rows = session.execute(query).all()
    if not rows:
        return Scored([], [], method)
    matrix = np.stack([from_bytes(row.vector) for row in rows])
    cosines = matrix @ appeal.vector.astype(np.float32)
    texts = [f"{row.title or ''} {row.text}".strip() for row in rows]
    if scorer is not None:
        tops, units = _top_units(session, rows), top_units(appeal.probabilities)
        facts = [
            PairFacts(
                cosine=float(cosine),
                new_text=appeal.text,
                earlier_text=text,
                new_units=units,
                earlier_units=tops.get(row.id, {}),
                shared=tuple(s for s in (appeal.enterprise_name, appeal.address, row.address) if s),
                gap_days=(appeal.at - row.received_at).total_seconds() / 86400,
                earlier_answered=row.status in ANSWERED,
                same_phone=bool(phone) and row.contact_phone_key == phone,
                same_address=bool(appeal.address) and row.address == appeal.address,
            )
            for row, cosine, text in zip(rows, cosines, texts, strict=True)
        ]
        scores = [float(s) for s in scorer.score([features(f) for f in facts])]
        threshold = settings.repeat_threshold
    else:
        weight = settings.repeat_embedding_weight
        scores = [
            blend(float(cosine), appeal.text, text, embedding_weight=weight)
            for cosine, text in zip(cosines, texts, strict=True)
        ]
        threshold = settings.repeat_similarity
    weighed = sorted(
        (
            Match(row.id, row.repeat_of or row.id, s, row.received_at, row.lead_unit)
            for row, s in zip(rows, scores, strict=True)
        ),
        key=lambda m: -m.similarity,
    )
    return Scored([m for m in weighed if m.similarity >= threshold], weighed, method)


def _top_units(session: Session, rows: Sequence[Row[Any]]) -> dict[int, Units]:
    """Each earlier ticket's top units as routing saw them at intake (territorial for a 街镇)."""
    ids = [row.id for row in rows]
    query = select(col(RoutingDecision.ticket_id), col(RoutingDecision.candidates)).where(
        col(RoutingDecision.ticket_id).in_(ids), col(RoutingDecision.trigger) == "intake"
    )
    tops: dict[int, Units] = {}
    for ticket_id, candidates in session.execute(query).all():
        if candidates:
            tops.setdefault(ticket_id, top_units({c["unit"]: c["probability"] for c in candidates}))
    return tops


def chain_size(session: Session, *, root_id: int) -> int:
    """How many tickets a chain holds: its root and the repeats linked to it."""
    linked = session.execute(
        select(func.count()).where(col(Ticket.repeat_of) == root_id)
    ).scalar_one()
    return 1 + int(linked)


def _same_text(a: str, b: str) -> bool:
    return re.sub(r"\s+", "", a) == re.sub(r"\s+", "", b)


def duplicate_submission(
    session: Session,
    *,
    source: str,
    text: str,
    enterprise_code: str,
    phone: str,
    at: datetime,
    minutes: int,
) -> Ticket | None:
    """The first ticket when the same source sent the same text for the same enterprise or
    phone minutes ago (a double submission under a new external id)."""
    if minutes <= 0:
        return None
    window = {"since": at - timedelta(minutes=minutes), "until": at + timedelta(minutes=minutes)}
    found = session.execute(_NEARBY, {"enterprise": enterprise_code, "phone": phone, **window})
    for ticket in found.scalars():
        if ticket.source == source and _same_text(ticket.text, text):
            return ticket
    return None


# Built once (every intake runs it). The source is checked above, not in the WHERE: SQLite would
# look the tickets up by the (source, external_id) index, every ticket of the source for each
# intake, where the enterprise's and the phone's indexes find a handful.
_NEARBY = (
    select(Ticket)
    .where(
        or_(
            col(Ticket.enterprise_code) == bindparam("enterprise"),
            col(Ticket.contact_phone) == bindparam("phone"),
        )
    )
    .where(col(Ticket.received_at) >= bindparam("since"))
    .where(col(Ticket.received_at) <= bindparam("until"))
    .order_by(col(Ticket.received_at))
)
