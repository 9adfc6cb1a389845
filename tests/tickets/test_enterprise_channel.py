"""The enterprise channel's API: submit, follow, rate (the callback), limits, nothing leaked."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.main import create_app
from core.config import Settings
from integrations.settings import IntegrationSettings
from models import Role, Ticket, TicketEvent
from tests.conftest import MakeUser, credit_code, row_count

URL = "/api/v1/enterprise"
UNIT_NAME = "区人力资源和社会保障局"


def appeal(n: int = 1, **overrides: Any) -> dict[str, Any]:
    body = {
        "credit_code": credit_code(900 + n),
        "enterprise_name": f"上海自助企业{n}有限公司",
        "contact_name": "赵经理",
        "contact_phone": f"1380000{n:04d}",
        "address": f"嘉定区南翔镇蕰北路{n}号",
        "appeal_type": "complaint",
        "title": "招用工备案办理缓慢",
        "text": f"第{n}家企业：我司招用工备案提交十天仍未办结，影响社保缴纳，请人社部门尽快处理。",
        "submission_id": f"page-submission-{n:04d}",
    }
    body.update(overrides)
    return body


def limited(settings: Settings, limits: IntegrationSettings) -> TestClient:
    """A client of an app built with these enterprise channel limits."""
    return TestClient(create_app(settings, integrations=limits), raise_server_exceptions=False)


def test_an_appeal_gets_a_receipt_once_and_is_routed_like_any(
    client: TestClient, engine: Engine
) -> None:
    first = client.post(f"{URL}/appeals", json=appeal())
    assert first.status_code == 201, first.text
    receipt = first.json()["receipt_code"]
    assert receipt.startswith("QS") and len(receipt) == 12
    again = client.post(f"{URL}/appeals", json=appeal())
    assert again.status_code == 200 and again.json()["receipt_code"] == receipt
    with Session(engine) as session:
        tickets = session.exec(select(Ticket)).all()
    assert len(tickets) == 1
    ticket = tickets[0]
    assert (ticket.source, ticket.channel, ticket.subdistrict) == (
        "enterprise-web",
        "web",
        "nanxiang",
    )
    assert ticket.status == "triage"  # no model in this test: routing leaves it to the desk


def test_a_bad_credit_code_is_refused_and_writes_nothing(
    client: TestClient, engine: Engine
) -> None:
    bad = appeal(credit_code=credit_code(901)[:17] + "0")
    response = client.post(f"{URL}/appeals", json=bad)
    assert response.status_code == 422
    assert row_count(engine, "ticket") == 0 and row_count(engine, "enterprise_receipt") == 0


def test_follow_rate_unsatisfied_and_the_desk_sees_it_reopened(
    client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    receipt = client.post(f"{URL}/appeals", json=appeal(2)).json()["receipt_code"]
    pair = {"receipt_code": receipt, "phone_last4": "0002"}
    seen = client.post(f"{URL}/follow", json=pair).json()
    assert (seen["status"], seen["status_name"], seen["can_rate"]) == (
        "triage",
        "已受理，待分拨",
        False,
    )
    early = client.post(f"{URL}/rate", json={**pair, "satisfaction": "satisfied"})
    assert early.status_code == 409 and "答复后才能评价" in early.json()["detail"]
    ticket_id = client.get("/api/v1/tickets", headers=make_user(Role.SUPERVISOR)).json()["items"][
        0
    ]["id"]
    desk, hrss = make_user(Role.OPERATOR), make_user(Role.UNIT_HANDLER, "hrss")
    base = f"/api/v1/tickets/{ticket_id}"
    assert (
        client.post(f"{base}/dispatch", json={"lead_unit": "hrss"}, headers=desk).status_code == 200
    )
    assert client.post(f"{base}/acknowledge", headers=hrss).status_code == 200
    assert (
        client.post(f"{base}/contact", json={"note": "已电话联系"}, headers=hrss).status_code == 200
    )
    reply = {"content": "已为贵司办结招用工备案"}
    assert client.post(f"{base}/reply", json=reply, headers=hrss).status_code == 200
    seen = client.post(f"{URL}/follow", json=pair).json()
    assert seen["reply"] == "已为贵司办结招用工备案" and seen["can_rate"] is True
    assert seen["unit"] == UNIT_NAME
    met = {d["stage"]: d["status"] for d in seen["deadlines"]}
    assert met["acknowledge"] == "met" and met["reply"] == "met" and met["callback"] == "pending"
    rated = client.post(
        f"{URL}/rate", json={**pair, "satisfaction": "unsatisfied", "note": "仍未解决"}
    )
    assert rated.status_code == 200, rated.text
    assert rated.json()["status"] == "reopened" and rated.json()["reply"] is None
    on_desk = client.get(base, headers=desk).json()
    assert on_desk["status"] == "reopened" and on_desk["satisfaction"] == "unsatisfied"
    with Session(engine) as session:
        last = session.exec(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.id.desc())  # type: ignore[union-attr]
        ).first()
    assert last is not None and (last.action, last.actor_name, last.note) == (
        "callback",
        "企业渠道",
        "仍未解决",
    )
    twice = client.post(f"{URL}/rate", json={**pair, "satisfaction": "satisfied"})
    assert twice.status_code == 409


def test_a_wrong_code_and_a_wrong_phone_get_the_same_answer(client: TestClient) -> None:
    mine = client.post(f"{URL}/appeals", json=appeal(3)).json()["receipt_code"]
    theirs = client.post(f"{URL}/appeals", json=appeal(4)).json()["receipt_code"]
    answers = [
        client.post(f"{URL}/follow", json={"receipt_code": mine, "phone_last4": "9999"}),
        client.post(f"{URL}/follow", json={"receipt_code": "QSAAAAAAAAAA", "phone_last4": "0003"}),
        client.post(f"{URL}/follow", json={"receipt_code": theirs, "phone_last4": "0003"}),
        client.post(
            f"{URL}/rate",
            json={"receipt_code": theirs, "phone_last4": "0003", "satisfaction": "satisfied"},
        ),
    ]
    assert {a.status_code for a in answers} == {404}
    assert {a.text for a in answers} == {answers[0].text}
    assert "回执码或手机号后四位不正确" in answers[0].json()["detail"]
    assert (
        client.post(
            f"{URL}/follow", json={"receipt_code": mine.lower(), "phone_last4": "0003"}
        ).status_code
        == 200
    )


def test_floods_are_refused_per_address_and_per_credit_code(
    settings: Settings, engine: Engine
) -> None:
    limits = IntegrationSettings(
        enterprise_submits_per_address_hour=4, enterprise_submits_per_credit_code_day=2
    )
    with limited(settings, limits) as client:
        same_enterprise = [
            client.post(
                f"{URL}/appeals",
                json=appeal(5, submission_id=f"flood-{i:04d}", text=f"第{i}次诉求内容"),
            )
            for i in range(3)
        ]
        assert [r.status_code for r in same_enterprise] == [201, 201, 429]
        assert "该企业今日提交的诉求已达上限" in same_enterprise[2].json()["detail"]
        assert same_enterprise[2].json()["code"] == "rate_limited"
        others = [client.post(f"{URL}/appeals", json=appeal(10 + i)) for i in range(2)]
        assert [r.status_code for r in others] == [201, 429]  # the address's fifth in the hour
        assert others[1].json()["detail"] == "提交过于频繁，请稍后再试"
        assert row_count(engine, "ticket") == 3


def test_guessing_a_receipts_phone_digits_is_stopped(settings: Settings) -> None:
    with limited(settings, IntegrationSettings(enterprise_follows_per_receipt_hour=5)) as client:
        receipt = client.post(f"{URL}/appeals", json=appeal(6)).json()["receipt_code"]
        guesses = [
            client.post(f"{URL}/follow", json={"receipt_code": receipt, "phone_last4": f"{g:04d}"})
            for g in range(5)
        ]
        assert {g.status_code for g in guesses} == {404}
        right = client.post(f"{URL}/follow", json={"receipt_code": receipt, "phone_last4": "0006"})
        assert right.status_code == 429 and "该回执码查询次数过多" in right.json()["detail"]
