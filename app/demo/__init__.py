"""Demo data: a district's last two months, replayed through the real intake and loop.

`load_demo` refuses a database that holds anything but demo tickets unless forced, creates one
user per unit (the featured ones with a login), and replays `plan.build_script`'s appeals,
whistles and evaluations. `clear_demo` removes what the demo wrote and nothing else.
"""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from accounts import passwords
from accounts import service as accounts_service
from app.demo import plan, replay
from core.db import session_scope
from core.errors import InvalidInput
from deadlines.policy import SlaPolicy
from models import (
    ApiToken,
    Assignment,
    Deadline,
    Enterprise,
    Evaluation,
    EvaluationPeriod,
    Notification,
    Role,
    RoutingDecision,
    Ticket,
    TicketEmbedding,
    TicketEvent,
    Unit,
    UnitKind,
    User,
    UserSession,
    Whistle,
    WhistleCall,
    WhistleEvent,
    utcnow,
)
from routing.model import ServingModel
from routing.settings import RoutingSettings
from tickets import jobs, rollup

SOURCE = replay.SOURCE
PREFIX = "demo-"  # every demo user's name starts so
# The users a newcomer signs in to the console as: (name, role, unit, login).
FEATURED: list[tuple[str, Role, str | None, str]] = [
    ("demo-operator", Role.OPERATOR, None, "operator"),
    ("demo-supervisor", Role.SUPERVISOR, None, "supervisor"),
    ("demo-admin", Role.ADMIN, None, "admin"),
    ("demo-market_regulation", Role.UNIT_HANDLER, "market_regulation", "market"),
    ("demo-hrss", Role.UNIT_HANDLER, "hrss", "hrss"),
    ("demo-anting", Role.SUBDISTRICT, "anting", "anting"),
    ("demo-malu", Role.SUBDISTRICT, "malu", "malu"),
]


class DemoRefused(Exception):
    """The database holds data that is not the demo's."""


class AlreadyLoaded(Exception):
    """The demo is in the database already."""


@dataclass(frozen=True)
class Loaded:
    """What a demo load did."""

    appeals: int
    steps: int
    sweeps: int
    seconds: float
    tokens: dict[str, str]  # new users' bearer tokens, by user name
    logins: list[str]  # new console logins: "login password role unit"


def foreign_tickets(session: Session) -> int:
    """How many tickets came from anywhere but the demo."""
    query = select(func.count()).select_from(Ticket).where(col(Ticket.source) != SOURCE)
    return int(session.execute(query).scalar_one())


def has_demo(session: Session) -> bool:
    """Whether the demo has been loaded."""
    query = select(col(Ticket.id)).where(col(Ticket.source) == SOURCE).limit(1)
    return session.execute(query).first() is not None


def _password() -> str:
    """A random demo password: 12 characters that pass the password rules."""
    while True:
        password = secrets.token_urlsafe(9)
        try:
            passwords.check_password(password)
        except InvalidInput:
            continue
        return password


def _users(session: Session) -> tuple[dict[str, User], dict[str, str], list[str]]:
    """The featured users with a console login, and one user for every unit who acts in the
    replay; the new ones' bearer tokens by name, and their logins."""
    wanted: list[tuple[str, Role, str | None, str | None]] = list(FEATURED)
    featured = {name for name, *_ in wanted}
    for unit in session.exec(select(Unit).where(col(Unit.active).is_(True))).all():
        role = Role.SUBDISTRICT if unit.kind == UnitKind.SUBDISTRICT else Role.UNIT_HANDLER
        if f"{PREFIX}{unit.code}" not in featured:
            wanted.append((f"{PREFIX}{unit.code}", role, unit.code, None))
    users, tokens, logins = {}, {}, []
    for name, role, unit_code, login in wanted:
        user = session.exec(select(User).where(col(User.name) == name)).first()
        if user is None:
            password = _password() if login else None
            user, tokens[name] = accounts_service.create_user(
                session, name=name, role=role, unit_code=unit_code, login=login, password=password
            )
            if login:
                logins.append(f"{login:12} {password:14} {role:14} {unit_code or '-'}")
        users[name] = user
    return users, tokens, logins


def load_demo(
    engine: Engine,
    *,
    policy: SlaPolicy,
    routing: RoutingSettings,
    serving: ServingModel,
    seed: int = 2026,
    appeals: int = 2000,
    force: bool = False,
    grace_days: int = 5,
    now: datetime | None = None,
    progress: Callable[[str], None] = print,
) -> Loaded:
    """Replay two months of a district into the database, routed by `serving`; refused over
    real data."""
    began = time.monotonic()
    with session_scope(engine, write=True) as session:
        if not force and foreign_tickets(session):
            raise DemoRefused(
                f"the database holds {foreign_tickets(session)} tickets that are not demo data; "
                "`qisu demo load --force` adds the demo beside them"
            )
        if has_demo(session):
            raise AlreadyLoaded("the demo is loaded already; `qisu demo clear` removes it")
        users, tokens, logins = _users(session)
    now = now or utcnow()
    script = plan.build_script(seed=seed, now=now, appeals=appeals)
    progress(f"demo: {len(script.appeals)} appeals of {len(script.firms)} enterprises, 60 days")
    replay.prime_model(script, serving, progress)
    try:
        run = replay.Replay(
            engine,
            policy=policy,
            routing=routing,
            serving=serving,
            script=script,
            users=users,
            seed=seed,
            grace_days=grace_days,
        ).run(progress)
    finally:
        serving.forget_primed()
    # The replay wrote the past with the past's clock, behind the roll-up's back: it starts over.
    with session_scope(engine, write=True) as session:
        rollup.clear(session)
    # The replayed past's notifications count as sent: nobody was there to read them.
    while jobs.deliver(engine, notifiers=[], now=now, batch=1000) != (0, 0):
        pass
    return Loaded(run.appeals, run.steps, run.sweeps, time.monotonic() - began, tokens, logins)


def clear_demo(engine: Engine) -> dict[str, int]:
    """Remove the demo's tickets, whistles, evaluations, users and enterprises; nothing else.

    Digests that list several tickets and evaluation periods left empty are the demo's only
    when the database holds nothing but the demo; beside real data they stay.
    """
    removed: dict[str, int] = {}
    with session_scope(engine, write=True) as session:
        alone = foreign_tickets(session) == 0
        tickets = select(col(Ticket.id)).where(col(Ticket.source) == SOURCE)
        users = select(col(User.id)).where(col(User.name).startswith(PREFIX))
        whistles = select(col(Whistle.id)).where(col(Whistle.created_by).in_(users))
        of_tickets = col(Notification.ticket_id).in_(tickets)
        statements = [
            (
                "notifications",
                delete(Notification).where(
                    or_(of_tickets, col(Notification.ticket_id).is_(None)) if alone else of_tickets
                ),
            ),
            (
                "deadlines",
                delete(Deadline).where(
                    or_(
                        col(Deadline.ticket_id).in_(tickets), col(Deadline.whistle_id).in_(whistles)
                    )
                ),
            ),
            ("events", delete(TicketEvent).where(col(TicketEvent.ticket_id).in_(tickets))),
            (
                "decisions",
                delete(RoutingDecision).where(col(RoutingDecision.ticket_id).in_(tickets)),
            ),
            (
                "embeddings",
                delete(TicketEmbedding).where(col(TicketEmbedding.ticket_id).in_(tickets)),
            ),
            ("assignments", delete(Assignment).where(col(Assignment.ticket_id).in_(tickets))),
            ("links", update(Ticket).where(col(Ticket.id).in_(tickets)).values(repeat_of=None)),
            ("tickets", delete(Ticket).where(col(Ticket.source) == SOURCE)),
            (
                "whistle events",
                delete(WhistleEvent).where(col(WhistleEvent.whistle_id).in_(whistles)),
            ),
            ("whistle calls", delete(WhistleCall).where(col(WhistleCall.whistle_id).in_(whistles))),
            ("whistles", delete(Whistle).where(col(Whistle.id).in_(whistles))),
            ("evaluations", delete(Evaluation).where(col(Evaluation.author_id).in_(users))),
            (
                "enterprises",
                delete(Enterprise).where(
                    col(Enterprise.credit_code).startswith(plan.CREDIT_PREFIX),
                    col(Enterprise.credit_code).not_in(select(col(Ticket.enterprise_code))),
                ),
            ),
            ("tokens", delete(ApiToken).where(col(ApiToken.user_id).in_(users))),
            ("sessions", delete(UserSession).where(col(UserSession.user_id).in_(users))),
            ("users", delete(User).where(col(User.name).startswith(PREFIX))),
        ]
        if alone:
            empty = col(EvaluationPeriod.period).not_in(select(col(Evaluation.period)))
            statements.append(("periods", delete(EvaluationPeriod).where(empty)))
        for name, statement in statements:
            removed[name] = session.execute(statement).rowcount  # type: ignore[attr-defined]
        # Deleted tickets leave no event behind: the roll-up starts over (read live meanwhile).
        rollup.clear(session)
    removed.pop("links")
    removed.pop("tokens")
    removed.pop("sessions")
    return removed
