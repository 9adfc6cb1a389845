"""Findings 6–9 at the edge: numbers, dates, texts and names refused with a 422 naming the field."""

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from models import Role
from tests.conftest import MakeUser, ticket_payload

HUGE = 2**63  # one above the largest BIGINT
ABOVE_INTEGER = 2**31  # one above an INTEGER id column


def _int_path_routes(client: TestClient) -> list[tuple[str, str, str]]:
    found = []
    for context in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        route = context.route
        if not isinstance(route, APIRoute):
            continue
        for param in route.dependant.path_params:
            if param.field_info.annotation is int:
                for method in route.methods or ():
                    found.append((method, route.path, param.alias))
    return found


def test_ids_above_bigint_are_refused_on_every_route(
    client: TestClient, make_user: MakeUser
) -> None:
    admin = make_user(Role.ADMIN)
    routes = _int_path_routes(client)
    assert len(routes) >= 19
    for method, path, name in routes:
        for number in (HUGE, ABOVE_INTEGER):
            url = path.replace("{" + name + "}", str(number))
            response = client.request(method, url, headers=admin, json={})
            assert response.status_code == 422, (method, url, response.text)
            assert any(e["loc"][-1] == name for e in response.json()["errors"]), response.text


@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/triage"])
def test_offsets_above_bigint_are_refused(
    client: TestClient, operator: dict[str, str], path: str
) -> None:
    response = client.get(path, params={"offset": HUGE}, headers=operator)
    assert response.status_code == 422 and response.json()["field"] == "offset"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (
            "/api/v1/units/market_regulation/kpis",
            {"from": "0001-01-01", "to": "2026-01-01"},
            "from",
        ),
        ("/api/v1/units/market_regulation/kpis", {"from": "2026-01-01", "to": "9999-12-31"}, "to"),
        ("/api/v1/clusters", {"from": "0001-01-01"}, "from"),
        ("/api/v1/clusters", {"to": "0001-01-01"}, "to"),
        ("/api/v1/routing/accuracy", {"to": "0001-01-01T00:00:00"}, "to"),
        ("/api/v1/routing/accuracy", {"from": "9999-12-31"}, "from"),
        ("/api/v1/tickets", {"from": "9999-12-31"}, "from"),
    ],
)
def test_dates_at_the_calendars_edges_are_refused(
    client: TestClient, supervisor: dict[str, str], path: str, params: dict[str, str], field: str
) -> None:
    response = client.get(path, params=params, headers=supervisor)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_a_bare_date_in_the_listing_is_shanghai_time(
    client: TestClient, operator: dict[str, str]
) -> None:
    late = datetime(2026, 11, 1, 17, 0, tzinfo=UTC).isoformat()  # 2026-11-02 01:00 in Shanghai
    client.post("/api/v1/tickets", json=ticket_payload(1, received_at=late), headers=operator)
    since = client.get("/api/v1/tickets", params={"from": "2026-11-02"}, headers=operator)
    assert since.status_code == 200, since.text
    assert since.json()["count"] == 1
    until = client.get(
        "/api/v1/tickets", params={"from": "2026-11-01", "to": "2026-11-02"}, headers=operator
    )
    assert until.json()["count"] == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"received_at": "1900-01-01T08:00:00+08:00"}, "received_at"),
        ({"received_at": "9999-12-31T08:00:00+08:00"}, "received_at"),
        ({"received_at": "0001-01-01T00:00:00+00:00"}, "received_at"),
        ({"external_id": "JD\x00001"}, "external_id"),
        ({"source": "12345\x07"}, "source"),
        ({"title": "标题\r\n第二行"}, "title"),
        ({"text": "诉求\x00正文"}, "text"),
        ({"text": "\u200b\u200b\u200d\ufeff"}, "text"),
        ({"address": "\u200b"}, "address"),
        ({"enterprise": {"credit_code": "91310114MA1000001X", "name": "公司\x1b[31m"}}, None),
        ({"contact": {"name": "李\x00", "phone": "13900000001"}}, "contact.name"),
    ],
)
def test_malformed_texts_and_times_are_refused_at_intake(
    client: TestClient, operator: dict[str, str], overrides: dict[str, Any], field: str | None
) -> None:
    response = client.post("/api/v1/tickets", json=ticket_payload(**overrides), headers=operator)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_request" and isinstance(body["detail"], str)
    if field:
        assert body["field"] == field
    else:
        assert body["field"].startswith("enterprise.")


def test_a_received_at_within_a_day_from_now_is_taken(
    client: TestClient, operator: dict[str, str]
) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=20)).isoformat()
    response = client.post(
        "/api/v1/tickets", json=ticket_payload(received_at=soon), headers=operator
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"period": "2026-11\r\nX-Injected: 1"}, "period"),
        ({"period": "Q9", "starts": "0001-01-01", "ends": "2026-12-31"}, "starts"),
        ({"period": "Q9", "starts": "2026-01-01", "ends": "9999-12-31"}, "ends"),
    ],
)
def test_period_names_and_days_are_checked(
    client: TestClient, supervisor: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/evaluation-periods", json=body, headers=supervisor)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


@pytest.mark.parametrize("period", ["2026年11月", "2026/11 上半月", "Q4:[考核]*?"])
def test_exports_name_any_period(
    client: TestClient, supervisor: dict[str, str], period: str
) -> None:
    body = {"period": period, "starts": "2026-11-01", "ends": "2026-11-30"}
    assert (
        client.post("/api/v1/evaluation-periods", json=body, headers=supervisor).status_code == 201
    )
    for file_format in ("csv", "xlsx"):
        response = client.get(
            "/api/v1/rankings/export",
            params={"period": period, "format": file_format},
            headers=supervisor,
        )
        assert response.status_code == 200, response.text
        disposition = response.headers["content-disposition"]
        assert f"filename*=UTF-8''{quote(f'qisu-ranking-{period}', safe='')}" in disposition
        fallback = disposition.split('filename="')[1].split('"')[0]
        assert "/" not in fallback and fallback.isascii()
        disposition.encode("latin-1")  # a header must be Latin-1


def test_unknown_query_parameters_are_refused(client: TestClient, operator: dict[str, str]) -> None:
    response = client.get("/api/v1/tickets", params={"statu": "triage"}, headers=operator)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "statu" and response.json()["code"] == "invalid_input"
    assert client.get("/healthz", params={"x": "1"}).status_code == 422
    assert client.get("/api/v1/tickets", params={"status": "triage"}, headers=operator).is_success


def test_domain_and_validation_refusals_share_one_shape(
    client: TestClient, operator: dict[str, str]
) -> None:
    domain = client.get("/api/v1/tickets", params={"statu": "x"}, headers=operator).json()
    malformed = client.get("/api/v1/tickets", params={"limit": "x"}, headers=operator).json()
    for body in (domain, malformed):
        assert isinstance(body["detail"], str) and isinstance(body["code"], str)
        assert isinstance(body["field"], str)


@pytest.mark.parametrize("evil", ["' OR 1=1--", "<script>alert(1)</script>"])
def test_domain_errors_do_not_echo_input(
    client: TestClient, make_user: MakeUser, evil: str
) -> None:
    desk, supervisor = make_user(Role.OPERATOR), make_user(Role.SUPERVISOR)
    anting = make_user(Role.SUBDISTRICT, "anting")
    ticket = client.post("/api/v1/tickets", json=ticket_payload(), headers=desk).json()
    answers = [
        client.post(
            f"/api/v1/tickets/{ticket['id']}/dispatch", json={"lead_unit": evil}, headers=desk
        ),
        client.get(
            f"/api/v1/units/{quote(evil, safe='')}/kpis",
            params={"from": "2026-11-01", "to": "2026-12-01"},
            headers=supervisor,
        ),
        client.get("/api/v1/rankings", params={"period": evil}, headers=supervisor),
        client.post("/api/v1/evaluation-periods", json={"period": evil}, headers=supervisor),
        client.post("/api/v1/whistles", json={"units": [evil], "text": "请协助"}, headers=anting),
    ]
    for answer in answers:
        assert 400 <= answer.status_code < 500, answer.text
        assert evil not in answer.text and quote(evil) not in answer.text, answer.text


def test_intake_keeps_the_registered_enterprise_name(
    client: TestClient, operator: dict[str, str]
) -> None:
    first = client.post("/api/v1/tickets", json=ticket_payload(1), headers=operator).json()
    code = first["enterprise"]["credit_code"]
    other = ticket_payload(
        2, enterprise={"credit_code": code, "name": "冒名顶替有限公司"}, text="另一件事：发票申领"
    )
    second = client.post("/api/v1/tickets", json=other, headers=operator).json()
    again = client.get(f"/api/v1/tickets/{first['id']}", headers=operator).json()
    assert again["enterprise"]["name"] == "上海测试企业1有限公司"
    assert second["enterprise"]["name"] == "上海测试企业1有限公司"
    assert second["id"] != first["id"]
    events = client.get(f"/api/v1/tickets/{second['id']}/events", headers=operator).json()
    assert "冒名顶替有限公司" in (events[0]["note"] or "")
