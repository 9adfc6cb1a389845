"""Rankings from a month of fixture activity, every figure checked against a hand computation."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.main import create_app
from core.config import Settings
from core.db import session_scope
from models import (
    AppealType,
    Assignment,
    AssignmentRole,
    AssignmentState,
    Channel,
    Deadline,
    DeadlineStatus,
    Enterprise,
    Evaluation,
    EvaluationPeriod,
    PeriodStatus,
    Role,
    Satisfaction,
    Stage,
    Ticket,
    TicketStatus,
    Urgency,
    Whistle,
)
from tests.conftest import MakeUser, credit_code

OCTOBER = datetime(2026, 10, 15, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SEPTEMBER = datetime(2026, 9, 15, 2, 0, tzinfo=UTC)
MET, BREACHED = DeadlineStatus.MET, DeadlineStatus.BREACHED


def ticket(n: int, lead: str, **fields: Any) -> Ticket:
    return Ticket(
        source="fixture",
        external_id=f"F{n}",
        channel=Channel.HOTLINE,
        received_at=OCTOBER,
        created_at=OCTOBER,
        updated_at=OCTOBER,
        enterprise_code=credit_code(1),
        contact_name="张",
        contact_phone="13900000000",
        text="fixture",
        address="嘉定区安亭镇",
        appeal_type=AppealType.COMPLAINT,
        urgency=Urgency.NORMAL,
        status=TicketStatus.REPLIED,
        lead_unit=lead,
        **fields,
    )


def clock(
    stage: Stage,
    status: DeadlineStatus,
    unit: str,
    ticket_id: int | None = None,
    whistle_id: int | None = None,
) -> Deadline:
    return Deadline(
        ticket_id=ticket_id,
        whistle_id=whistle_id,
        unit_code=unit,
        stage=stage,
        status=status,
        started_at=OCTOBER,
        limit_hours=8.0,
        due_at=OCTOBER + timedelta(days=1),
    )


def evaluation(period: str, by: str, unit: str, scores: tuple[int, int, int]) -> Evaluation:
    t, e, c = scores
    return Evaluation(
        period=period, subdistrict=by, unit=unit, timeliness=t, effectiveness=e, cooperation=c
    )


@pytest.fixture
def month(engine: Engine) -> None:
    """October: market_regulation busy, hrss only evaluated; September: hrss evaluated well."""
    with session_scope(engine, write=True) as session:
        session.add(Enterprise(credit_code=credit_code(1), name="夹具企业"))
        for period, starts, ends in (
            ("2026-09", date(2026, 9, 1), date(2026, 9, 30)),
            ("2026-10", date(2026, 10, 1), date(2026, 10, 31)),
        ):
            session.add(
                EvaluationPeriod(
                    period=period, starts=starts, ends=ends, status=PeriodStatus.CLOSED
                )
            )
        session.flush()
        verdicts: list[Satisfaction | None] = [Satisfaction.SATISFIED]
        verdicts += [Satisfaction.BASICALLY_SATISFIED, Satisfaction.UNSATISFIED, None]
        tickets = [ticket(n, "market_regulation", satisfaction=v) for n, v in enumerate(verdicts)]
        session.add_all(tickets)
        session.flush()
        tickets[1].repeat_of = tickets[0].id  # one repeat of four
        for n, t in enumerate(tickets):
            state = AssignmentState.RETURNED if n == 3 else AssignmentState.DONE  # one return
            session.add(
                Assignment(
                    ticket_id=t.id or 0,
                    unit_code="market_regulation",
                    role=AssignmentRole.LEAD,
                    state=state,
                    created_at=OCTOBER,
                )
            )
            session.add(clock(Stage.ACKNOWLEDGE, MET, "market_regulation", ticket_id=t.id))
            reply = BREACHED if n == 2 else MET  # three replies on time of four
            session.add(clock(Stage.REPLY, reply, "market_regulation", ticket_id=t.id))
        whistle = Whistle(subdistrict="anting", text="吹哨", created_at=OCTOBER)
        session.add(whistle)
        session.flush()
        for status in (MET, MET, MET, BREACHED):  # three of four reported in on time
            session.add(
                clock(Stage.REPORT, status, "market_regulation", whistle_id=whistle.id or 0)
            )
        session.add(evaluation("2026-10", "anting", "market_regulation", (5, 4, 3)))
        session.add(evaluation("2026-10", "malu", "market_regulation", (3, 4, 5)))
        session.add(evaluation("2026-10", "nanxiang", "market_regulation", (4, 4, 4)))
        session.add(evaluation("2026-10", "anting", "hrss", (2, 2, 2)))
        session.add(evaluation("2026-09", "anting", "hrss", (5, 5, 5)))


def test_every_figure_matches_the_hand_computation(
    month: None, client: TestClient, make_user: MakeUser
) -> None:
    response = client.get("/api/v1/rankings?period=2026-10", headers=make_user(Role.SUPERVISOR))
    assert response.status_code == 200, response.text
    rows = {row["unit"]: row for row in response.json()}
    market, hrss = rows["market_regulation"], rows["hrss"]
    assert market["timeliness"] == market["effectiveness"] == market["cooperation"] == 4.0
    assert market["evaluations"] == 3 and market["evaluation_note"] is None
    assert market["whistle_report_on_time_rate"] == 0.75
    assert market["acknowledged_on_time_rate"] == 1.0
    assert market["replied_on_time_rate"] == 0.75
    assert market["satisfaction_rate"] == 0.6667  # 2 of 3 rated
    assert market["return_rate"] == 0.25 and market["repeat_rate"] == 0.25
    # 100 × (.15·.75 + .15·.75 + .10·.75 + .10·.75 + .10·1 + .15·.75 + .15·.6667
    #        + .05·(1 − .25) + .05·(1 − .25)) / 1.0
    assert market["score"] == 76.25 and market["rank"] == 1
    assert market["previous_rank"] is None and market["score_change"] is None
    # hrss has one evaluation only: too few to show, so nothing to score it on (评价数不足)
    assert hrss["score"] is None and hrss["rank"] is None and hrss["evaluations"] == 1
    assert hrss["replied_on_time_rate"] is None and hrss["timeliness"] is None
    assert hrss["evaluation_note"] == "评价数不足"
    assert hrss["previous_rank"] is None and hrss["score_change"] is None
    assert rows["tax"]["score"] is None and rows["tax"]["rank"] is None
    assert next(iter(rows)) == "market_regulation"
    assert "malu" not in rows and "power_supply" not in rows  # line departments only


def test_a_department_sees_its_own_scorecard_only(
    month: None, client: TestClient, make_user: MakeUser
) -> None:
    mine = client.get(
        "/api/v1/rankings?period=2026-10", headers=make_user(Role.UNIT_HANDLER, "hrss")
    )
    assert [row["unit"] for row in mine.json()] == ["hrss"]
    missing = client.get("/api/v1/rankings?period=2030-01", headers=make_user(Role.SUPERVISOR))
    assert missing.status_code == 404


def test_exports_carry_chinese_headers(
    month: None, client: TestClient, make_user: MakeUser
) -> None:
    boss = make_user(Role.SUPERVISOR)
    exported = client.get("/api/v1/rankings/export?period=2026-10&format=csv", headers=boss)
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0][:4] == ["排名", "单位", "单位代码", "综合得分"] and "满意率" in table[0]
    assert table[1][:4] == ["1", "区市场监管局", "market_regulation", "76.25"]
    sheet = client.get("/api/v1/rankings/export?period=2026-10&format=xlsx", headers=boss)
    book = load_workbook(io.BytesIO(sheet.content))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "排名" and rows[1][2] == "market_regulation" and rows[1][3] == 76.25
    wrong = client.get("/api/v1/rankings/export?period=2026-10&format=pdf", headers=boss)
    assert wrong.status_code == 422


@pytest.mark.parametrize(
    ("content", "says"),
    [("timeliness: 1\nspeed: 2\n", "unknown figures speed"), ("timeliness: -1\n", "non-negative")],
)
def test_wrong_weights_stop_the_app(
    tmp_path: Path, settings: Settings, content: str, says: str
) -> None:
    weights = tmp_path / "weights.yaml"
    weights.write_text(content, encoding="utf-8")
    app = create_app(settings.model_copy(update={"ranking_weights": weights}))
    with pytest.raises(ValueError, match=says), TestClient(app):
        pass


def test_the_ranking_scores_with_the_weights_its_settings_name(
    month: None, client: TestClient, settings: Settings, tmp_path: Path, make_user: MakeUser
) -> None:
    weights = tmp_path / "weights.yaml"
    weights.write_text("acknowledged_on_time_rate: 1\n", encoding="utf-8")  # market's is 1.0
    boss = make_user(Role.SUPERVISOR)
    url = "/api/v1/rankings?period=2026-10"
    with TestClient(create_app(settings.model_copy(update={"ranking_weights": weights}))) as own:
        (market,) = [r for r in own.get(url, headers=boss).json() if r["rank"] == 1]
    assert (market["unit"], market["score"]) == ("market_regulation", 100.0)
    shipped = [r for r in client.get(url, headers=boss).json() if r["rank"] == 1]
    assert shipped[0]["score"] == 76.25  # the other app keeps the shipped weights


def test_a_ranking_runs_a_fixed_number_of_queries(
    month: None, client: TestClient, make_user: MakeUser
) -> None:
    """The figures come from grouped queries, not one query per department per figure."""
    boss = make_user(Role.SUPERVISOR)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(Engine, "before_cursor_execute", count)
    try:
        response = client.get("/api/v1/rankings?period=2026-10", headers=boss)
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert response.status_code == 200 and len(response.json()) == 27  # every line department
    # Two periods (this one and the one before for the change) of six grouped queries each,
    # plus the caller and the periods: per department it would be hundreds.
    assert len(statements) <= 25, len(statements)
