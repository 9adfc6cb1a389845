"""The demo: two months of a district replayed through the real loop, then cleared."""

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from accounts import passwords
from app.demo import AlreadyLoaded, DemoRefused, Loaded, clear_demo, load_demo
from app.setup import prepare_database
from core.db import make_engine, session_scope
from core.timezone import SHANGHAI
from deadlines.policy import load_policy
from evaluations import rankings
from models import (
    Deadline,
    Evaluation,
    EvaluationPeriod,
    PeriodStatus,
    Role,
    RoutingDecision,
    Ticket,
    TicketEvent,
    TicketStatus,
    Unit,
    UnitKind,
    User,
    WhistleCall,
    utcnow,
)
from routing.model import ServingModel
from routing.settings import RoutingSettings
from tests.conftest import MakeUser, row_count, ticket_payload
from tickets import audit


def a_working_afternoon(now: datetime) -> datetime:
    """The last weekday's 16:00 in Shanghai before now: the replay then ends in working hours, so
    its spread of stages does not depend on the hour the suite runs."""
    local = now.astimezone(SHANGHAI)
    day = local.date() if local.hour >= 16 else local.date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime.combine(day, time(16), SHANGHAI).astimezone(UTC)


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path
) -> Iterator[tuple[Engine, Loaded]]:
    """A fresh SQLite database (the embedded default) with the demo loaded once, routed by the
    trained tiny model."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'qisu.db'}")
    prepare_database(engine)
    try:
        loaded = load_demo(
            engine, policy=load_policy(), routing=RoutingSettings(),
            serving=ServingModel(models_dir), seed=7, progress=lambda _: None,
            now=a_working_afternoon(utcnow()),
        )  # fmt: skip
        assert loaded.appeals >= 1900
        yield engine, loaded
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def demo_engine(demo: tuple[Engine, Loaded]) -> Engine:
    """The demo's database."""
    return demo[0]


def _tickets(engine: Engine) -> list[Ticket]:
    with Session(engine) as session:
        return list(session.exec(select(Ticket)))


@pytest.mark.slow
def test_the_demo_is_a_district_at_work(demo_engine: Engine) -> None:
    tickets = _tickets(demo_engine)
    statuses = Counter(t.status for t in tickets)
    assert set(statuses) == {
        "triage", "dispatched", "acknowledged", "contacted", "replied", "verified", "reopened",
        "closed",
    }, statuses  # fmt: skip
    assert statuses[TicketStatus.CLOSED] > len(tickets) / 2
    with Session(demo_engine) as session:
        units = {u.code: u.kind for u in session.exec(select(Unit))}
        clocks = Counter(d.status for d in session.exec(select(Deadline)))
        calls = Counter(c.state for c in session.exec(select(WhistleCall)))
        periods = {p.period: p.status for p in session.exec(select(EvaluationPeriod))}
        evaluated = Counter(e.period for e in session.exec(select(Evaluation)))
        events = Counter(e.action for e in session.exec(select(TicketEvent)))
    assert {"pending", "warned", "breached", "met"} <= set(clocks), clocks
    towns = {t.subdistrict for t in tickets}
    assert {c for c, k in units.items() if k == UnitKind.SUBDISTRICT} <= towns
    leads = {t.lead_unit for t in tickets}
    holders = {c for c, k in units.items() if k != UnitKind.SUBDISTRICT}
    assert len(holders & leads) >= len(holders) - 2, holders - leads
    assert {1, 2, 3} <= {t.escalation_level for t in tickets}
    assert sum(t.repeat_of is not None for t in tickets) >= 10
    assert sum(t.return_count > 0 for t in tickets) >= 10
    assert {"dispatch", "return", "callback", "close", "deadline_breached"} <= set(events)
    assert {"called", "reported", "done", "confirmed"} <= set(calls), calls
    assert PeriodStatus.CLOSED in periods.values() and PeriodStatus.OPEN in periods.values()
    assert len([p for p, n in evaluated.items() if n >= 5]) >= 2, evaluated
    weights, calendar = rankings.load_weights(), load_policy().calendar
    with Session(demo_engine) as session:
        cards = {
            period: rankings.rank(session, period=period, weights=weights, calendar=calendar)
            for period in evaluated
        }
    assert all(any(c.score is not None for c in ranked) for ranked in cards.values())
    later = max(cards)
    assert any(c.previous_rank is not None for c in cards[later]), "no change between periods"


@pytest.mark.slow
def test_the_last_hours_intake_waits_for_the_desk_and_the_units(demo_engine: Engine) -> None:
    with Session(demo_engine) as session:
        newest = session.exec(select(Ticket).order_by(col(Ticket.received_at).desc())).first()
        assert newest is not None
        hour = newest.received_at - timedelta(hours=1)
        fresh = list(session.exec(select(Ticket).where(col(Ticket.received_at) > hour)))
        outside = [t for t in fresh if t.address.startswith("宝山区")]
        rules = {
            d.rule
            for d in session.exec(
                select(RoutingDecision).where(col(RoutingDecision.ticket_id) == outside[0].id)
            )
        }
    assert len(fresh) >= 6
    assert {t.status for t in fresh} <= {TicketStatus.TRIAGE, TicketStatus.DISPATCHED}
    assert outside[0].status == TicketStatus.TRIAGE and rules == {"outside Jiading"}, rules


@pytest.mark.slow
def test_every_role_has_a_console_login(demo: tuple[Engine, Loaded]) -> None:
    engine, loaded = demo
    logins = {line.split()[0]: line.split()[1] for line in loaded.logins}
    assert set(logins) == {"operator", "supervisor", "admin", "market", "hrss", "anting", "malu"}
    with Session(engine) as session:
        for login, password in logins.items():
            user = session.exec(select(User).where(col(User.login) == login)).one()
            assert user.password_hash and passwords.verify(password, user.password_hash)
        roles = {u.role for u in session.exec(select(User).where(col(User.login).is_not(None)))}
    assert roles == {"operator", "supervisor", "admin", "unit_handler", "subdistrict"}


@pytest.mark.slow
def test_every_demo_ticket_replays_from_its_events(demo_engine: Engine) -> None:
    with Session(demo_engine) as session:
        trail: dict[int, dict[str, object]] = {}
        for event in session.exec(select(TicketEvent).order_by(col(TicketEvent.id))):
            state = trail.setdefault(event.ticket_id, {})
            state.update({k: v for k, v in event.after.items() if k in audit.AUDITED})
        for ticket in session.exec(select(Ticket)):
            stored = {k: v for k, v in audit.snapshot(ticket).items() if v is not None}
            replayed = {k: v for k, v in trail[ticket.id or 0].items() if v is not None}
            assert replayed == stored, ticket.id


@pytest.mark.slow
def test_the_demo_loads_once_and_clears_to_the_bare_registry(demo_engine: Engine) -> None:
    with pytest.raises(AlreadyLoaded):
        load_demo(
            demo_engine,
            policy=load_policy(),
            routing=RoutingSettings(),
            serving=ServingModel(None),
            progress=lambda _: None,
        )
    removed = clear_demo(demo_engine)
    assert removed["tickets"] >= 1900
    with session_scope(demo_engine) as session:
        units = session.exec(select(Unit)).all()
    assert len(units) == 44
    for table in SQLModel.metadata.sorted_tables:
        if table.name != "unit":
            assert row_count(demo_engine, table.name) == 0, table.name


def test_the_demo_refuses_a_database_with_real_tickets(
    engine: Engine, client: Any, make_user: MakeUser
) -> None:
    desk = make_user(Role.OPERATOR)
    assert client.post("/api/v1/tickets", json=ticket_payload(1), headers=desk).status_code == 201
    with pytest.raises(DemoRefused, match="not demo data"):
        load_demo(
            engine,
            policy=load_policy(),
            routing=RoutingSettings(),
            serving=ServingModel(None),
            progress=lambda _: None,
        )
    assert row_count(engine, "ticket") == 1
    removed = clear_demo(engine)
    assert removed["tickets"] == 0 and row_count(engine, "ticket") == 1
    assert row_count(engine, "user") == 1
