"""The deadline policy file: the shipped defaults, and wrong files refused with their line."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import cli
from app.main import create_app
from core.config import Settings
from deadlines import clocks
from deadlines.policy import DEFAULT_POLICY, PolicyError, load_policy, parse_policy
from deadlines.working_time import SHANGHAI, Limit, LimitUnit
from models import AppealType, Deadline, Stage, Urgency
from tests.tickets.conftest import Loop

SHIPPED = DEFAULT_POLICY.read_text(encoding="utf-8")


def test_the_shipped_policy() -> None:
    policy = load_policy()

    def reply(kind: AppealType, urgency: Urgency = Urgency.NORMAL) -> Limit:
        return policy.limit(Stage.REPLY, appeal_type=kind, urgency=urgency)

    assert reply(AppealType.COMPLAINT) == Limit(5, LimitUnit.WORKING_DAYS)
    assert reply(AppealType.CONSULTATION) == Limit(1, LimitUnit.WORKING_DAYS)
    assert reply(AppealType.CONSULTATION, Urgency.URGENT) == Limit(24, LimitUnit.CLOCK_HOURS)
    callback = policy.limit(Stage.CALLBACK, appeal_type=AppealType.HELP, urgency=Urgency.URGENT)
    assert callback == Limit(2, LimitUnit.WORKING_DAYS)  # urgent names no callback limit
    assert policy.warn_at == 0.8 and policy.top_level == 3
    supervisors = policy.escalation_level(2)
    assert supervisors is not None and supervisors.notify == "role:supervisor"


@pytest.mark.parametrize(
    ("old", "new", "line", "says"),
    [
        ("    callback: 2 working_days", "    callbak: 2 working_days", 23, "unknown stage"),
        ("    reply: 5 working_days", "    reply: -5 working_days", 22, "negative"),
        ("    reply: 5 working_days", "    reply: 5 fortnights", 22, "<amount> <unit>"),
        (
            "    contact: 1 working_days           # 先行联系 with the enterprise\n",
            "",
            19,
            "contact",
        ),
        ("warn_at: 0.8", "warn_at: 1.5", 16, "fraction"),
        ("    notify: role:supervisor", "    notify: everyone", 46, "notify"),
        ('  closes: "17:00"', '  closes: "08:00"', 11, "office"),
    ],
)
def test_a_wrong_policy_names_its_line(old: str, new: str, line: int, says: str) -> None:
    assert old in SHIPPED
    with pytest.raises(PolicyError) as raised:
        parse_policy(SHIPPED.replace(old, new), "jiading.yaml")
    assert f"jiading.yaml, line {line} " in str(raised.value)
    assert says in str(raised.value)


def test_a_wrong_policy_stops_the_app_and_the_cli(tmp_path: Path, settings: Settings) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text(SHIPPED.replace("reply: 5 working_days", "reply: -1 working_days"), "utf-8")
    with (
        pytest.raises(PolicyError, match="line 22"),
        TestClient(create_app(settings.model_copy(update={"sla_policy": bad}))),
    ):
        pass
    checked = CliRunner().invoke(cli, ["sla", "check", str(bad)])
    assert checked.exit_code == 2 and "line 22" in checked.output
    good = CliRunner().invoke(cli, ["sla", "check", str(DEFAULT_POLICY)])
    assert good.exit_code == 0 and "valid" in good.output


def local_day(at: datetime) -> str:
    return at.astimezone(SHANGHAI).date().isoformat()


SCHEDULE_2031 = """
calendar:
  2031:
    holidays: [2031-01-01, 2031-01-02]
    workdays: [2031-01-04]
"""


def test_a_year_without_a_schedule_falls_back_and_is_recounted(
    loop: Loop, engine: Engine, client: TestClient
) -> None:
    loop.dispatch()
    policy = load_policy()
    new_year = datetime(2031, 1, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai, a Wednesday
    with Session(engine) as session:
        row = session.exec(select(Deadline).where(Deadline.stage == Stage.REPLY)).one()
        row.started_at = new_year
        clocks.reschedule(row, calendar=policy.calendar, warn_at=policy.warn_at)
        assert row.fallback
        monday_friday = row.due_at
        session.add(row)
        session.commit()
    ticket = client.get(f"/api/v1/tickets/{loop.id}", headers=loop.desk).json()
    assert ticket["calendar_fallback"] is True

    known = parse_policy(SHIPPED.replace("calendar: {}", SCHEDULE_2031), "with-2031")
    with Session(engine) as session:
        assert clocks.recompute_fallbacks(session, policy=known) >= 1
        session.commit()
        row = session.exec(select(Deadline).where(Deadline.stage == Stage.REPLY)).one()
    # 1 and 2 January are holidays now and Saturday the 4th a make-up working day.
    assert not row.fallback and monday_friday and row.due_at
    # Five working days of eight hours: Wed–Tue counted Monday–Friday, Fri–Wed officially.
    assert local_day(monday_friday) == "2031-01-07" and local_day(row.due_at) == "2031-01-08"


def test_readyz_says_which_years_have_an_official_calendar(client: TestClient) -> None:
    calendar = client.get("/readyz").json()["calendar"]
    assert len(calendar) == 2
    assert set(calendar.values()) <= {"official", "monday-friday fallback (no schedule)"}
