"""The daily roll-up answers exactly what the live queries answer, late events included."""

import random
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.scheduler import build_scheduler, sweep
from core.config import Settings
from core.db import session_scope
from core.timezone import SHANGHAI
from deadlines.policy import load_policy
from evaluations import rankings
from evaluations.service import month_span
from integrations.settings import IntegrationSettings
from models import (
    AppealType,
    Assignment,
    AssignmentRole,
    AssignmentState,
    Channel,
    Deadline,
    DeadlineStatus,
    Enterprise,
    EvaluationPeriod,
    PeriodStatus,
    RollupCount,
    RollupState,
    Satisfaction,
    Stage,
    Ticket,
    TicketAction,
    TicketEvent,
    TicketStatus,
    Unit,
    UnitKind,
    Urgency,
    utcnow,
)
from routing.model import ServingModel
from routing.settings import RoutingSettings
from tickets import audit, connectors, dashboard, kpis, rollup
from tickets.measures import MEASURES, Count, totals

DAYS = 75  # this month and the one before, for the rankings' change from the last period
STAGES = [Stage.ACKNOWLEDGE, Stage.CONTACT, Stage.REPLY, Stage.CALLBACK, Stage.RETURN_WINDOW]


def _at(rng: random.Random, now: datetime, days: float) -> datetime:
    return now - timedelta(seconds=rng.randrange(int(days * 86_400)))


def seed(engine: Engine, *, rng: random.Random, now: datetime, tickets: int = 400) -> list[int]:
    """Random tickets of the last DAYS days, with their lead assignments and deadlines.

    Some units lead a ticket twice (on the same day or later): such a ticket counts once.
    """
    with session_scope(engine, write=True) as session:
        units = [u.code for u in session.exec(select(Unit).where(Unit.kind == UnitKind.LINE))][:6]
        session.add(Enterprise(credit_code="91310114MA1GT1234X", name="上海测试有限公司"))
        session.flush()
        ids: list[int] = []
        for n in range(tickets):
            received = _at(rng, now, DAYS)
            status = rng.choice(list(TicketStatus))
            ticket = Ticket(
                source="test", external_id=f"R{n}", channel=rng.choice(list(Channel)),
                received_at=received, enterprise_code="91310114MA1GT1234X", contact_name="张",
                contact_phone="13900000000", text="营业执照变更", address="嘉定区",
                appeal_type=AppealType.COMPLAINT, urgency=Urgency.NORMAL, status=status,
                satisfaction=rng.choice([None, None, *Satisfaction]),
                repeat_of=rng.choice(ids) if ids and rng.random() < 0.2 else None,
            )  # fmt: skip
            session.add(ticket)
            session.flush()
            ids.append(ticket.id or 0)
            if status == TicketStatus.TRIAGE:
                continue
            lead = rng.choice(units)
            ticket.lead_unit = lead
            made = [received + timedelta(hours=rng.uniform(0, 30))]
            leads = [lead]
            roll = rng.random()
            if roll < 0.15:  # the same unit again, days later or the same day
                made.append(made[0] + timedelta(hours=rng.choice([1, 30, 100])))
                leads.append(lead)
            elif roll < 0.3:  # handed on to another unit
                made.append(made[0] + timedelta(hours=rng.uniform(1, 80)))
                leads.append(rng.choice(units))
            for unit, at in zip(leads, made, strict=True):
                at = min(at, now)
                session.add(
                    Assignment(
                        ticket_id=ticket.id or 0, unit_code=unit, role=AssignmentRole.LEAD,
                        state=rng.choice(list(AssignmentState)), created_at=at,
                    )
                )  # fmt: skip
                for stage in STAGES:
                    session.add(
                        Deadline(
                            ticket_id=ticket.id, unit_code=rng.choice([unit, unit, None]),
                            stage=stage, status=rng.choice(list(DeadlineStatus)),
                            started_at=min(at + timedelta(hours=rng.uniform(0, 20)), now),
                            limit_hours=8.0,
                        )
                    )  # fmt: skip
        for offset in (0, 1):  # this month's period and the one before
            name = _month(now, offset)
            starts, ends = month_span(name)
            session.add(
                EvaluationPeriod(period=name, starts=starts, ends=ends, status=PeriodStatus.OPEN)
            )
    return ids


def _month(now: datetime, back: int) -> str:
    first = now.astimezone(SHANGHAI).date().replace(day=1)
    for _ in range(back):
        first = (first - timedelta(days=1)).replace(day=1)
    return first.strftime("%Y-%m")


def answers(session: Session, start: datetime, end: datetime, *, rolled: bool) -> dict[str, Any]:
    """Every figure the roll-up serves, over one span."""
    return {
        "funnel": dashboard.funnel(session, start=start, end=end, rolled=rolled),
        "rates": dashboard.rates(session, start=start, end=end, rolled=rolled),
        "clocks": kpis.on_time_rates_by_unit(
            session, start=start, end=end, stages=(Stage.CONTACT, Stage.CALLBACK), rolled=rolled
        ),
        "led": kpis.led_by_unit(session, start=start, end=end, rolled=rolled),
    }


def ranking(session: Session, period: str, *, rolled: bool) -> list[dict[str, Any]]:
    cards = rankings.rank(
        session,
        period=period,
        weights=rankings.load_weights(),
        calendar=load_policy().calendar,
        rolled=rolled,
    )
    return [asdict(c) for c in cards]


def spans(rng: random.Random, now: datetime) -> list[tuple[datetime, datetime]]:
    """Whole Shanghai days, a month to now, and random spans with partial first and last days."""
    midnight = datetime.combine(now.astimezone(SHANGHAI).date(), datetime.min.time(), SHANGHAI)
    found = [(midnight - timedelta(days=30), midnight), (now - timedelta(days=30), now)]
    for _ in range(12):
        start = _at(rng, now, DAYS + 5)
        found.append((start, min(start + timedelta(hours=rng.uniform(1, 40 * 24)), now)))
    return found


def same_everywhere(session: Session, checked: list[tuple[datetime, datetime]]) -> None:
    for start, end in checked:
        assert answers(session, start, end, rolled=True) == answers(
            session, start, end, rolled=False
        ), (start, end)
    for back in (0, 1):
        period = _month(utcnow(), back)
        assert ranking(session, period, rolled=True) == ranking(session, period, rolled=False)


def test_the_roll_up_answers_what_the_live_queries_answer(engine: Engine) -> None:
    rng = random.Random(15)
    now = utcnow()
    seed(engine, rng=rng, now=now)
    checked = spans(rng, now)
    with session_scope(engine) as session:
        before = [answers(session, s, e, rolled=False) for s, e in checked]
    days = rollup.rebuild(engine, now=now)
    assert days >= DAYS - 2
    with session_scope(engine) as session:
        assert session.exec(select(RollupCount)).first() is not None
        month = checked[0]
        assert len(rollup.clean_days(session, *month)) == 30  # the roll-up is what is read
        same_everywhere(session, checked)
        assert [answers(session, s, e, rolled=False) for s, e in checked] == before
    # Rolling again changes nothing: the rebuild is idempotent.
    with session_scope(engine) as session:
        stored = sorted(tuple(r) for r in session.exec(select(RollupCount)).all())
    rollup.rebuild(engine, now=now)
    with session_scope(engine) as session:
        assert sorted(tuple(r) for r in session.exec(select(RollupCount)).all()) == stored


def _day(at: datetime) -> str:
    return at.astimezone(SHANGHAI).date().isoformat()


def test_late_events_are_read_live_until_rolled_again(engine: Engine) -> None:
    rng = random.Random(16)
    now = utcnow()
    ids = seed(engine, rng=rng, now=now, tickets=250)
    rollup.rebuild(engine, now=now)
    old = now - timedelta(days=12)
    with session_scope(engine, write=True) as session:
        # A ticket of twelve days ago is reopened, rated unsatisfied, returned by its lead
        # unit, and led by it once more today: every measure of its days changes.
        ticket = session.exec(
            select(Ticket).where(
                col(Ticket.received_at) < old,
                col(Ticket.received_at) > old - timedelta(days=1),
                col(Ticket.lead_unit).is_not(None),
            )
        ).first()
        assert ticket is not None
        before = audit.snapshot(ticket)
        ticket.status, ticket.satisfaction = TicketStatus.REOPENED, Satisfaction.UNSATISFIED
        ticket.reopen_count += 1
        for row in session.exec(select(Assignment).where(Assignment.ticket_id == ticket.id)):
            row.state = AssignmentState.RETURNED
            session.add(row)
        for clock in session.exec(select(Deadline).where(Deadline.ticket_id == ticket.id)):
            clock.status = DeadlineStatus.MET
            session.add(clock)
        session.add(
            Assignment(
                ticket_id=ticket.id or 0, unit_code=ticket.lead_unit or "", role=AssignmentRole.LEAD
            )
        )
        session.add(ticket)
        session.flush()
        audit.record(
            session,
            ticket=ticket,
            user=None,
            action=TicketAction.CALLBACK,
            before=before,
            connectors=connectors.NONE,
        )
        reopened = _day(ticket.received_at)
        # Another one's reply deadline, started three weeks ago, runs out at the next sweep.
        late = session.get(Ticket, ids[len(ids) // 2])
        assert late is not None
        started = now - timedelta(days=21)
        session.add(
            Deadline(
                ticket_id=late.id, unit_code="tax", stage=Stage.REPLY, started_at=started,
                limit_hours=8.0, due_at=started + timedelta(hours=8),
            )
        )  # fmt: skip
    # The sweep breaches it and writes the ticket's event, as it does every breach.
    sweep(engine, policy=load_policy(), now=utcnow())
    checked = [*spans(rng, now), (now - timedelta(days=25), now)]
    with session_scope(engine) as session:
        clean = {d.isoformat() for d in rollup.clean_days(session, now - timedelta(days=25), now)}
        assert reopened not in clean and _day(started) not in clean
        assert len(clean) >= 10  # the untouched days are still read from the roll-up
        same_everywhere(session, checked)
    again, fresh = rollup.refresh(engine)
    assert again >= 2 and fresh == 0
    with session_scope(engine, write=True) as session:
        for name in (reopened, _day(started)):  # rolled again: the stored day is the live one
            span = [rollup.day_span(date.fromisoformat(name))]
            for measure, run in MEASURES.items():
                stored = session.exec(
                    select(RollupCount).where(
                        RollupCount.day == name, RollupCount.measure == measure
                    )
                ).all()
                kept = [Count(r.unit_code, r.key, r.ticket_id, r.n) for r in stored]
                assert totals(kept) == totals(run(session, span, split=True)), (name, measure)
        # LAG later, the events are older than the roll-up's look-back: the days are read
        # from the roll-up again.
        for event in session.exec(select(TicketEvent)).all():
            event.at -= 2 * rollup.LAG
            session.add(event)
    with session_scope(engine) as session:
        clean = {d.isoformat() for d in rollup.clean_days(session, now - timedelta(days=25), now)}
        assert {reopened, _day(started)} <= clean
        same_everywhere(session, checked)


def test_the_scheduler_rolls_new_days_a_few_at_a_time(engine: Engine) -> None:
    rng = random.Random(17)
    now = utcnow()
    seed(engine, rng=rng, now=now, tickets=60)
    assert rollup.refresh(engine, now=now, new_days=7) == (0, 7)
    with session_scope(engine) as session:
        rolled = session.exec(select(RollupCount.day).distinct()).all()
        yesterday = now.astimezone(SHANGHAI).date() - timedelta(days=1)
        assert max(date.fromisoformat(d) for d in rolled) <= yesterday  # today stays live
        month = (now - timedelta(days=30), now)
        assert 0 < len(rollup.clean_days(session, *month)) <= 7
        same_everywhere(session, [month])


def test_the_scheduler_refreshes_the_roll_up(engine: Engine, settings: Settings) -> None:
    scheduler = build_scheduler(
        engine,
        settings,
        load_policy(),
        RoutingSettings(),
        IntegrationSettings(),
        {},
        ServingModel(None),
        blocking=False,
    )
    job = scheduler.get_job("dashboard-rollup")
    assert job is not None and job.trigger.interval == timedelta(seconds=settings.rollup_seconds)
    job.func()  # one run, as the scheduler makes it: the recent days get rolled
    with session_scope(engine) as session:
        assert session.get(RollupState, 1) is not None
