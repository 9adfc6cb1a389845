"""The demo's replay: the script taken through the real intake, loop, sweeps and evaluations.

Each step runs at its own instant of the past (`models.replaying_at`), in its own transaction,
through the same services the API calls; sweeps run every simulated hour. Steps due after now
never happen, so recent appeals are left at whatever stage they have reached.
"""

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app import scheduler
from app.demo.plan import Appeal, Script, WhistlePlan
from core.db import session_scope, write_engine
from core.errors import DomainError
from core.timezone import SHANGHAI
from deadlines.policy import SlaPolicy
from deadlines.working_time import Limit, LimitUnit
from evaluations import service as evaluations_service
from evaluations import whistles
from models import (
    EvaluationPeriod,
    PeriodStatus,
    Satisfaction,
    Stage,
    Ticket,
    TicketStatus,
    Unit,
    User,
    id_of,
    replaying_at,
    utcnow,
)
from routing.model import ModelUnavailable, ServingModel
from routing.settings import RoutingSettings
from tickets import connectors
from tickets import service as tickets_service
from tickets.schemas import ContactIn, EnterpriseIn, TicketCreate

SOURCE = "demo"  # no city platform: its steps are reported to none (connectors.NONE)
SWEEP_EVERY = timedelta(hours=2)
WAITING = "等待企业补充材料"


@dataclass
class Report:
    """What the replay did."""

    appeals: int = 0
    steps: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    sweeps: int = 0


class Replay:
    """A queue of steps in time order, each run at its instant in its own transaction."""

    def __init__(
        self,
        engine: Engine,
        *,
        policy: SlaPolicy,
        routing: RoutingSettings,
        serving: ServingModel,
        script: Script,
        users: dict[str, User],
        seed: int,
        grace_days: int,
    ) -> None:
        self.engine, self.policy, self.script, self.users = engine, policy, script, users
        self.routing, self.serving = routing, serving
        self.rng = random.Random(seed + 1)
        self.grace_days = grace_days
        self.queue: list[tuple[datetime, int, Callable[[Session], None], str]] = []
        self.order = itertools.count()
        self.tickets: dict[int, int] = {}  # appeal key -> ticket id
        self.report = Report()
        self.rolled: date | None = None
        with Session(engine) as session:
            self.names = {u.code: u.name for u in session.exec(select(Unit))}

    # -- the queue ------------------------------------------------------------------------------

    def at(self, when: datetime, name: str, step: Callable[[Session], None]) -> None:
        """Run `step` at `when`, unless that is after the end of the replay."""
        if when <= self.script.end:
            heapq.heappush(self.queue, (when, next(self.order), step, name))

    def run(self, progress: Callable[[str], None]) -> Report:
        """Every step in time order, with the sweeps and the periods' roll in between."""
        for appeal in self.script.appeals:
            self.at(appeal.at, "intake", partial(self.intake, appeal=appeal))
        for plan in self.script.whistles:
            self.at(plan.at, "whistle", partial(self.blow, plan=plan))
        tick = self.script.start
        while tick <= self.script.end:
            self.at(tick, "sweep", self.sweep)
            tick += SWEEP_EVERY
        self._plan_evaluations()
        done, batch = 0, None
        while self.queue:
            when, _, step, name = heapq.heappop(self.queue)
            with replaying_at(when):
                if name == "sweep":
                    # The steps between two sweeps commit together; the sweep sees them all.
                    if batch is not None:
                        batch.commit()
                        batch.close()
                        batch = None
                    step(None)  # type: ignore[arg-type]  # a sweep opens its own transactions
                    continue
                batch = batch or Session(write_engine(self.engine), expire_on_commit=False)
                try:
                    with batch.begin_nested():  # a refused step leaves the others as they were
                        step(batch)
                    self.report.steps += 1
                except DomainError as exc:  # a step the loop refuses is skipped, as a person would
                    self.report.refused[name] = self.report.refused.get(name, 0) + 1
                    if name == "intake":
                        raise RuntimeError(f"demo intake refused: {exc.message}") from exc
            if name == "intake":
                done += 1
                if done % 250 == 0:
                    progress(f"  {done} of {len(self.script.appeals)} appeals taken in")
        if batch is not None:
            batch.commit()
            batch.close()
        return self.report

    def sweep(self, _session: Session | None) -> None:
        """The deadline sweep and the periods' roll, as the scheduler runs them."""
        now = utcnow()
        scheduler.sweep(self.engine, policy=self.policy, now=now)
        self.report.sweeps += 1
        today = now.astimezone(SHANGHAI).date()
        if today != self.rolled:  # the scheduler rolls the periods hourly; once a day is enough
            self.rolled = today
            with session_scope(self.engine, write=True) as session:
                evaluations_service.roll_periods(session, today=today, grace_days=self.grace_days)

    # -- time -----------------------------------------------------------------------------------

    def later(self, start: datetime, stage: Stage, appeal: Appeal, share: float) -> datetime:
        """The instant after `share` of the stage's working-time limit from `start`."""
        limit = self.policy.limit(stage, appeal_type=appeal.appeal_type, urgency=appeal.urgency)
        return self.policy.calendar.due(start, Limit(limit.amount * share, limit.unit)).at

    def hours(self, start: datetime, low: float, high: float) -> datetime:
        """Some working hours after `start`."""
        return self.policy.calendar.due(
            start, Limit(self.rng.uniform(low, high), LimitUnit.WORKING_HOURS)
        ).at

    # -- tickets --------------------------------------------------------------------------------

    def ticket(self, session: Session, appeal: Appeal) -> Ticket:
        found = session.get(Ticket, self.tickets[appeal.key])
        assert found is not None
        return found

    def handler(self, unit: str | None) -> User:
        return self.users[f"demo-{unit}"]

    def intake(self, session: Session, appeal: Appeal) -> None:
        data = TicketCreate(
            source=SOURCE,
            external_id=f"DEMO-{appeal.key:05d}",
            channel=appeal.channel,
            received_at=appeal.at,
            enterprise=EnterpriseIn(credit_code=appeal.firm.code, name=appeal.firm.name),
            contact=ContactIn(name=appeal.contact, phone=appeal.phone),
            address=appeal.address,
            title=appeal.title if appeal.channel != "hotline" else None,
            text=appeal.text,
            appeal_type=appeal.appeal_type,
            urgency=appeal.urgency,
        )
        ticket, _ = tickets_service.intake(
            session,
            serving=self.serving,
            connectors=connectors.NONE,
            data=data,
            user=self.users["demo-operator"],
            policy=self.policy,
            routing=self.routing,
        )
        assert ticket.id is not None
        self.tickets[appeal.key] = ticket.id
        self.report.appeals += 1
        self.routed(ticket, appeal, at=appeal.at)

    def routed(self, ticket: Ticket, appeal: Appeal, *, at: datetime) -> None:
        """After routing (or a return): the desk dispatches what waits, the lead starts work."""
        if appeal.kind == "fresh":  # it just came in: nobody has reached it yet
            return
        if ticket.status == TicketStatus.TRIAGE:
            wrong_first = appeal.kind == "return" and ticket.return_count == 0
            lead = appeal.firm.town if wrong_first else appeal.lead
            self.at(self.hours(at, 0.2, 2.0), "dispatch", lambda s: self.dispatch(s, appeal, lead))
        elif ticket.status == TicketStatus.DISPATCHED:
            self.work(ticket, appeal, at=at)

    def dispatch(self, session: Session, appeal: Appeal, lead: str) -> None:
        ticket = self.ticket(session, appeal)
        if ticket.status != TicketStatus.TRIAGE:
            return
        tickets_service.dispatch(
            session,
            connectors=connectors.NONE,
            ticket_id=id_of(ticket),
            user=self.users["demo-operator"],
            lead_unit=lead,
            assist_units=[],
            policy=self.policy,
        )
        self.work(ticket, appeal, at=utcnow())

    def work(self, ticket: Ticket, appeal: Appeal, *, at: datetime) -> None:
        """The lead unit's path: return what is not its own, else 签收, 联系 and 答复 in time."""
        lead = ticket.lead_unit
        if lead != appeal.lead:
            reason = self._return_reason(lead, appeal)
            self.at(self.hours(at, 0.3, 5.0), "return", lambda s: self.give_back(s, appeal, reason))
            return
        # A slow unit misses one stage's limit; a stalled one lets every stage run over, so
        # the ticket climbs the 督办 levels before anyone takes it on.
        late = self.rng.choice([Stage.ACKNOWLEDGE, Stage.CONTACT, Stage.REPLY])
        share = {
            stage: self.rng.uniform(2.5, 6.0)
            if appeal.pace == "stalled"
            else self.rng.uniform(1.15, 1.9)
            if appeal.pace == "slow" and stage == late
            else self.rng.uniform(0.1, 0.6)
            for stage in (Stage.ACKNOWLEDGE, Stage.CONTACT, Stage.REPLY)
        }
        ack = self.later(at, Stage.ACKNOWLEDGE, appeal, share[Stage.ACKNOWLEDGE])
        contact = max(self.later(at, Stage.CONTACT, appeal, share[Stage.CONTACT]), ack)
        reply = max(self.later(at, Stage.REPLY, appeal, share[Stage.REPLY]), contact)
        user = self.handler(lead)
        tid = id_of(ticket)
        self.at(ack, "acknowledge", lambda s: _call(tickets_service.acknowledge, s, tid, user))
        note = self.rng.choice(self.script.contact_notes)
        self.at(
            contact + timedelta(minutes=5),
            "contact",
            lambda s: _call(tickets_service.contact, s, tid, user, note=note),
        )
        if appeal.pause and ticket.reopen_count == 0:
            self.at(
                contact + timedelta(minutes=30),
                "pause",
                lambda s: _call(
                    tickets_service.pause_clocks,
                    s,
                    tid,
                    user,
                    reason="等待企业补充材料",
                    policy=self.policy,
                ),
            )
            back = self.hours(contact, 8, 16)
            self.at(
                back,
                "resume",
                lambda s: _call(tickets_service.resume_clocks, s, tid, user, policy=self.policy),
            )
            reply = max(reply, back) + timedelta(hours=2)
        if appeal.extension and ticket.reopen_count == 0:
            self.at(
                contact + timedelta(minutes=40),
                "request-extension",
                lambda s: _call(
                    tickets_service.request_extension,
                    s,
                    tid,
                    user,
                    days=5,
                    reason="需协调多个部门现场核查，申请延期",
                ),
            )
            approve = self.rng.random() < 0.8
            self.at(
                self.hours(contact, 2, 8),
                "decide-extension",
                lambda s: _call(
                    tickets_service.decide_extension,
                    s,
                    tid,
                    self.users["demo-supervisor"],
                    approve=approve,
                    note="同意延期" if approve else "请按原时限办结",
                    policy=self.policy,
                ),
            )
        self.at(reply + timedelta(minutes=10), "reply", lambda s: self.answer(s, appeal))

    def _return_reason(self, lead: str | None, appeal: Appeal) -> str:
        if lead in self.script_towns():
            holder = self.names.get(appeal.lead, "条线部门")
            return appeal.return_reason or f"经核实，该事项属于{holder}职责，非我镇职权，请改派"
        return "经核实，该事项不属于我单位职责，请重新分拨"

    def script_towns(self) -> set[str]:
        return {f.town for f in self.script.firms}

    def give_back(self, session: Session, appeal: Appeal, reason: str) -> None:
        ticket = self.ticket(session, appeal)
        tickets_service.return_ticket(
            session,
            serving=self.serving,
            connectors=connectors.NONE,
            ticket_id=id_of(ticket),
            user=self.handler(ticket.lead_unit),
            reason=reason,
            policy=self.policy,
            routing=self.routing,
        )
        self.routed(ticket, appeal, at=utcnow())

    def answer(self, session: Session, appeal: Appeal) -> None:
        ticket = self.ticket(session, appeal)
        if ticket.status != TicketStatus.CONTACTED:
            return  # still paused or waiting: the unit answers when it can
        tickets_service.reply(
            session,
            connectors=connectors.NONE,
            ticket_id=id_of(ticket),
            user=self.handler(ticket.lead_unit),
            content=appeal.reply,
            policy=self.policy,
        )
        self.at(self.hours(utcnow(), 2, 12), "callback", lambda s: self.call_back(s, appeal))

    def call_back(self, session: Session, appeal: Appeal) -> None:
        ticket = self.ticket(session, appeal)
        verdict = appeal.verdicts[min(ticket.reopen_count, len(appeal.verdicts) - 1)]
        desk = self.users["demo-operator"]
        tickets_service.callback(
            session,
            connectors=connectors.NONE,
            ticket_id=id_of(ticket),
            user=desk,
            satisfaction=verdict,
            note=self.rng.choice(self.script.callback_notes),
            policy=self.policy,
        )
        if verdict == Satisfaction.UNSATISFIED:  # 重办: the unit takes it up again within days
            self.work(ticket, appeal, at=self.hours(utcnow(), 0, 16))
        else:
            tid = id_of(ticket)
            self.at(
                self.hours(utcnow(), 0.5, 6),
                "close",
                lambda s: _call(tickets_service.close, s, tid, desk),
            )

    # -- whistles and evaluations --------------------------------------------------------------

    def blow(self, session: Session, plan: WhistlePlan) -> None:
        whistle = whistles.raise_whistle(
            session,
            user=self.users[f"demo-{plan.town}"],
            units=plan.units,
            text=plan.text,
            ticket_ids=[],
            policy=self.policy,
        )
        wid, now = id_of(whistle), utcnow()
        if plan.fate in ("overdue", "called"):
            return
        for unit in plan.units:
            user = self.handler(unit)
            self.at(
                self.hours(now, 1, 6),
                "report",
                partial(
                    _whistle,
                    whistles.report,
                    wid=wid,
                    user=user,
                    contact=f"{self.names.get(unit, unit)} 联系人 021-5999{wid:04d}",
                    plan="已安排专人对接，本周内到现场会商处置。",
                    policy=self.policy,
                ),
            )
            if plan.fate != "reported":
                self.at(
                    self.hours(now, 12, 30),
                    "outcome",
                    partial(
                        _whistle,
                        whistles.outcome,
                        wid=wid,
                        user=user,
                        content="已到现场会商，问题已按职责处置完毕。",
                    ),
                )
        town = self.users[f"demo-{plan.town}"]
        if plan.fate == "confirmed":
            self.at(
                self.hours(now, 34, 40),
                "confirm",
                partial(_whistle, whistles.confirm, wid=wid, user=town),
            )
        if plan.fate == "sent_back":
            self.at(
                self.hours(now, 34, 40),
                "send-back",
                partial(
                    _whistle,
                    whistles.reopen,
                    wid=wid,
                    user=town,
                    reason="企业反映问题仍未解决，请继续跟进。",
                    policy=self.policy,
                ),
            )

    def _plan_evaluations(self) -> None:
        """Most 街镇 evaluate at each month's end; a few have started on the current month."""
        month = self.script.start.astimezone(SHANGHAI).replace(day=1, hour=15, minute=0)
        while month <= self.script.end:
            following = (month + timedelta(days=32)).replace(day=1)
            writes = following - timedelta(days=1) if following <= self.script.end else None
            share = 0.8 if writes else 0.25
            when = writes or self.script.end - timedelta(hours=2)
            period = month.strftime("%Y-%m")
            for town in sorted(self.script_towns()):
                if self.rng.random() < share:
                    self.at(
                        when + timedelta(minutes=self.rng.randint(0, 90)),
                        "evaluate",
                        partial(self.evaluate, town=town, period=period),
                    )
            month = following

    def evaluate(self, session: Session, town: str, period: str) -> None:
        found = session.get(EvaluationPeriod, period)
        if found is None or found.status != PeriodStatus.OPEN:
            return
        user = self.users[f"demo-{town}"]
        todo = evaluations_service.todo(session, user=user, period=period)
        for item in todo[:4]:
            if item["evaluation_id"] is not None:
                continue
            good = self.rng.random() < 0.7
            scores = [self.rng.randint(4, 5) if good else self.rng.randint(2, 4) for _ in "abc"]
            evaluations_service.create(
                session,
                user=user,
                period=period,
                unit=str(item["unit"]),
                timeliness=scores[0],
                effectiveness=scores[1],
                cooperation=scores[2],
                comment=self.rng.choice(self.script.comments),
                whistle_ids=list(item["whistle_ids"]),  # type: ignore[call-overload]
                ticket_ids=list(item["ticket_ids"])[:10],  # type: ignore[call-overload]
            )


def _call(
    action: Callable[..., Any], session: Session, ticket_id: int, user: User, **kw: Any
) -> None:
    action(session, ticket_id=ticket_id, user=user, connectors=connectors.NONE, **kw)


def _whistle(
    action: Callable[..., Any], session: Session, *, wid: int, user: User, **kw: Any
) -> None:
    action(session, whistle_id=wid, user=user, unit=None, **kw)


def prime_model(
    script: Script, serving: ServingModel, progress: Callable[[str], None]
) -> str | None:
    """Start analysing every appeal's text in batches, ahead of the replay's intakes."""
    try:
        count = serving.prime([_words(a) for a in script.appeals])
    except ModelUnavailable as exc:
        progress(f"  routing without a model ({exc}): appeals wait in triage")
        return None
    progress(f"  {count} texts analysed in batches, ahead of their intake")
    return "primed"


def _words(appeal: Appeal) -> str:
    title = appeal.title if appeal.channel != "hotline" else None
    return " ".join(part for part in (title, appeal.text) if part)
