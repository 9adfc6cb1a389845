"""Retention of personal data (PIPL art. 19): contacts anonymised once the period runs out.

Only who the contact was goes; what happened stays. A ticket keeps its unit, times, status,
deadlines, events and satisfaction, so KPIs and rankings count it as before.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from accounts.audit import Actor, append
from core.phones import phone_key
from models import AuditAction, DeadLetter, Ticket

ANONYMOUS_NAME = "已匿名"
ANONYMOUS_PHONE = ""


@dataclass(frozen=True)
class Purge:
    """What a purge anonymised (or, dry, would)."""

    cutoff: datetime
    tickets: int
    dead_letters: int


def purge(
    session: Session, *, now: datetime, retention_days: int, actor: Actor, dry_run: bool
) -> Purge:
    """Anonymise the contacts of tickets closed more than `retention_days` ago.

    Dead letters (whole platform orders, contacts included) received before the cutoff lose
    their payload too. A dry run counts and changes nothing; a real one is audited.
    """
    cutoff = now - timedelta(days=retention_days)
    due = (
        col(Ticket.closed_at).is_not(None),
        col(Ticket.closed_at) < cutoff,
        col(Ticket.anonymised_at).is_(None),
    )
    old = col(DeadLetter.received_at) < cutoff
    if dry_run:
        tickets = session.exec(select(func.count()).select_from(Ticket).where(*due)).one()
        dead = session.exec(select(func.count()).select_from(DeadLetter).where(old)).one()
        return Purge(cutoff=cutoff, tickets=int(tickets), dead_letters=int(dead))
    # A bulk UPDATE bypasses the ORM's version check on purpose: nobody edits a closed ticket
    # three years on, and the version stays as the loop left it.
    done = session.execute(
        update(Ticket)
        .where(*due)
        .values(
            contact_name=ANONYMOUS_NAME,
            contact_phone=ANONYMOUS_PHONE,
            contact_phone_key=phone_key(ANONYMOUS_PHONE),  # a bulk UPDATE runs no ORM event
            anonymised_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    emptied = session.execute(
        update(DeadLetter)
        .where(old)
        .values(payload={})
        .execution_options(synchronize_session=False)
    )
    result = Purge(
        cutoff=cutoff,
        tickets=int(done.rowcount),  # type: ignore[attr-defined]
        dead_letters=int(emptied.rowcount),  # type: ignore[attr-defined]
    )
    append(
        session,
        actor=actor,
        action=AuditAction.DATA_PURGE,
        target="tickets",
        detail=f"cutoff={cutoff.isoformat()} tickets={result.tickets} "
        f"dead_letters={result.dead_letters}",
    )
    return result
