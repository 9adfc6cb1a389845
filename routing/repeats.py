"""Repeat complaints: earlier tickets of the same enterprise, phone or address with a close text."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from models import Ticket, TicketEmbedding

DTYPE = np.float16  # 768 bytes a ticket; cosine error below 1e-3
_NOT_WORD = re.compile(r"[^\w]|_")


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


def _bigrams(text: str) -> set[str]:
    letters = _NOT_WORD.sub("", text)
    return {letters[i : i + 2] for i in range(len(letters) - 1)}


def overlap(a: str, b: str) -> float:
    """Share of the shorter text's character pairs found in the other (0 to 1)."""
    first, second = _bigrams(a), _bigrams(b)
    return len(first & second) / min(len(first), len(second)) if first and second else 0.0


def find(
    session: Session,
    *,
    text: str,
    vector: np.ndarray,
    embedding_weight: float,
    enterprise_code: str | None,
    phone: str | None,
    address: str | None,
    at: datetime,
    window_days: int,
    similarity: float,
    limit: int,
    exclude_id: int | None = None,
) -> list[Match]:
    """Earlier tickets sharing the enterprise, phone or address within the window, closest first.

    Similarity blends the embeddings' cosine with the character pairs the texts share: the
    small encoder alone rates two different matters of one enterprise and one unit nearly as
    close as a matter raised again in other words (bench/routing.py measures both).
    """
    shared = [
        column == value
        for column, value in (
            (col(Ticket.enterprise_code), enterprise_code),
            (col(Ticket.contact_phone), phone),
            (col(Ticket.address), address),
        )
        if value
    ]
    if not shared:
        return []
    query = (
        select(
            col(Ticket.id),
            col(Ticket.repeat_of),
            col(Ticket.received_at),
            col(Ticket.lead_unit),
            col(Ticket.title),
            col(Ticket.text),
            col(TicketEmbedding.vector),
        )
        .join(TicketEmbedding, col(TicketEmbedding.ticket_id) == col(Ticket.id))
        .where(or_(*shared), col(Ticket.received_at) >= at - timedelta(days=window_days))
        .where(col(Ticket.received_at) <= at)
        .order_by(col(Ticket.received_at).desc())
        .limit(limit)
    )
    if exclude_id is not None:
        query = query.where(col(Ticket.id) != exclude_id)
    rows = session.execute(query).all()
    if not rows:
        return []
    matrix = np.stack([from_bytes(row.vector) for row in rows])
    cosines = matrix @ vector.astype(np.float32)
    scores = [
        embedding_weight * float(cosine)
        + (1 - embedding_weight) * overlap(text, f"{row.title or ''} {row.text}")
        for row, cosine in zip(rows, cosines, strict=True)
    ]
    found = [
        Match(row.id, row.repeat_of or row.id, float(s), row.received_at, row.lead_unit)
        for row, s in zip(rows, scores, strict=True)
        if s >= similarity
    ]
    return sorted(found, key=lambda m: -m.similarity)


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
    query = (
        select(Ticket)
        .where(col(Ticket.source) == source)
        .where(
            or_(col(Ticket.enterprise_code) == enterprise_code, col(Ticket.contact_phone) == phone)
        )
        .where(col(Ticket.received_at) >= at - timedelta(minutes=minutes))
        .where(col(Ticket.received_at) <= at + timedelta(minutes=minutes))
        .order_by(col(Ticket.received_at))
    )
    for ticket in session.execute(query).scalars():
        if _same_text(ticket.text, text):
            return ticket
    return None
