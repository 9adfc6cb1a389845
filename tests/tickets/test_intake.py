"""Intake: a new ticket, idempotency per source id, and bad input refused without a write."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from models import Role
from tests.conftest import MakeUser, credit_code, row_count, ticket_payload


def test_new_ticket_waits_in_triage(client: TestClient, operator: dict[str, str]) -> None:
    response = client.post("/api/v1/tickets", json=ticket_payload(), headers=operator)
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["status"] == "triage"
    assert ticket["lead_unit"] is None and ticket["assist_units"] == []
    assert ticket["enterprise"] == {"credit_code": credit_code(1), "name": "上海测试企业1有限公司"}
    assert ticket["received_at"] == "2026-11-02T09:30:00Z"
    assert ticket["version"] == 1 and ticket["reopen_count"] == 0
    triage = client.get("/api/v1/triage", headers=operator).json()
    assert triage["count"] == 1 and triage["items"][0]["id"] == ticket["id"]


def test_intake_is_idempotent_per_source_id(
    client: TestClient, operator: dict[str, str], engine: Engine
) -> None:
    first = client.post("/api/v1/tickets", json=ticket_payload(), headers=operator)
    again = client.post("/api/v1/tickets", json=ticket_payload(text="改过的文字"), headers=operator)
    other_source = client.post(
        "/api/v1/tickets", json=ticket_payload(source="web-portal"), headers=operator
    )
    assert (first.status_code, again.status_code, other_source.status_code) == (201, 200, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["text"] == first.json()["text"]
    assert row_count(engine, "ticket") == 2
    assert row_count(engine, "ticketevent") == 2


def test_enterprise_is_created_and_keeps_its_registered_name(
    client: TestClient, operator: dict[str, str], engine: Engine
) -> None:
    client.post("/api/v1/tickets", json=ticket_payload(1), headers=operator)
    renamed = ticket_payload(
        2,
        enterprise={"credit_code": credit_code(1), "name": "新名字有限公司"},
        text="另一件事：出口退税迟迟未到账。",  # the same text again would be merged
    )
    response = client.post("/api/v1/tickets", json=renamed, headers=operator)
    # Another name for a known code does not rename the enterprise (issue 16, finding 9).
    assert response.json()["enterprise"]["name"] == "上海测试企业1有限公司"
    assert row_count(engine, "enterprise") == 1


def _without(field: str) -> dict[str, Any]:
    body = ticket_payload()
    del body[field]
    return body


BAD_BODIES = {
    "wrong check character": (
        ticket_payload(enterprise={"credit_code": credit_code(1)[:-1] + "0", "name": "某公司"}),
        "credit_code",
        "校验位有误",
    ),
    "datetime without offset": (
        ticket_payload(received_at="2026-11-02T09:30:00"),
        "received_at",
        "timezone",
    ),
    "empty text": (ticket_payload(text="   "), "text", "at least 1 character"),
    "100,000-character text": (ticket_payload(text="字" * 100_000), "text", "at most 10000"),
    "unknown channel": (ticket_payload(channel="fax"), "channel", "hotline"),
    "unknown appeal type": (ticket_payload(appeal_type="rant"), "appeal_type", "consultation"),
    "missing text": (_without("text"), "text", "required"),
    "bad phone": (ticket_payload(contact={"name": "李", "phone": "call me"}), "phone", "pattern"),
}


@pytest.mark.parametrize("case", BAD_BODIES)
def test_bad_body_names_the_field(
    case: str, client: TestClient, operator: dict[str, str], engine: Engine
) -> None:
    body, field, reason = BAD_BODIES[case]
    response = client.post("/api/v1/tickets", json=body, headers=operator)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]  # `detail` is one sentence now, `errors` the parts
    assert any(field in err["loc"] and reason in err["msg"] for err in errors), errors
    assert len(response.text) < 2_000  # the input is not echoed back
    assert row_count(engine, "ticket") == 0


def test_malformed_json_is_a_422(client: TestClient, operator: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/tickets",
        content=b'{"source": "12345", ',
        headers={**operator, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "json_invalid"


def test_missing_and_wrong_tokens_are_401(client: TestClient, engine: Engine) -> None:
    missing = client.post("/api/v1/tickets", json=ticket_payload())
    wrong = client.post(
        "/api/v1/tickets", json=ticket_payload(), headers={"Authorization": "Bearer nope"}
    )
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.json()["detail"].startswith("请先登录") and "Bearer" in missing.json()["detail"]
    assert "令牌无效" in wrong.json()["detail"]
    assert missing.json()["code"] == wrong.json()["code"] == "not_authenticated"
    assert row_count(engine, "ticket") == 0


def test_units_may_not_take_tickets_in(
    client: TestClient, make_user: MakeUser, engine: Engine
) -> None:
    handler = make_user(Role.UNIT_HANDLER, "market_regulation")
    response = client.post("/api/v1/tickets", json=ticket_payload(), headers=handler)
    assert response.status_code == 403
    assert "话务员" in response.json()["detail"] and response.json()["code"] == "forbidden"
    assert row_count(engine, "ticket") == 0


def test_an_enterprise_is_looked_up_by_its_credit_code(
    client: TestClient, operator: dict[str, str], make_user: MakeUser
) -> None:
    client.post("/api/v1/tickets", json=ticket_payload(1), headers=operator)
    found = client.get(f"/api/v1/enterprises/{credit_code(1).lower()}", headers=operator)
    assert found.status_code == 200, found.text
    assert found.json() == {
        "credit_code": credit_code(1),
        "name": "上海测试企业1有限公司",
        "address": "嘉定区安亭镇墨玉路185号",
        "subdistrict": found.json()["subdistrict"],
    }
    assert found.json()["subdistrict"] in (None, "anting")  # learnt from addresses, if at all
    unknown = client.get(f"/api/v1/enterprises/{credit_code(2)}", headers=operator)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert "请手工填写企业名称" in unknown.json()["detail"]
    wrong = client.get(f"/api/v1/enterprises/{credit_code(1)[:-1]}0", headers=operator)
    assert wrong.status_code == 422 and wrong.json()["field"] == "credit_code"
    assert "校验位有误" in wrong.json()["detail"]
    handler = make_user(Role.UNIT_HANDLER, "market_regulation")
    refused = client.get(f"/api/v1/enterprises/{credit_code(1)}", headers=handler)
    assert refused.status_code == 403
