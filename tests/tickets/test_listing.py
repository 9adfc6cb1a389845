"""Listings: filters, pagination with a total count, and who sees what."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from models import Role
from tests.conftest import MakeUser, ticket_payload


def _seed(
    client: TestClient,
    desk: dict[str, str],
    count: int,
    address: str = "嘉定区安亭镇墨玉路185号",
    first: int = 0,
) -> list[int]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    ids = []
    for n in range(first, first + count):
        received = (start + timedelta(days=n)).isoformat()
        body = ticket_payload(n, received_at=received, address=address)
        response = client.post("/api/v1/tickets", json=body, headers=desk)
        ids.append(response.json()["id"])
    return ids


def _dispatch(client: TestClient, desk: dict[str, str], ticket_id: int, **body: object) -> None:
    response = client.post(f"/api/v1/tickets/{ticket_id}/dispatch", json=body, headers=desk)
    assert response.status_code == 200, response.text


def test_pagination_and_count(client: TestClient, operator: dict[str, str]) -> None:
    ids = _seed(client, operator, 7)
    page = client.get("/api/v1/tickets?limit=3&offset=3", headers=operator).json()
    assert page["count"] == 7 and len(page["items"]) == 3
    assert [t["id"] for t in page["items"]] == list(reversed(ids))[3:6]  # newest first
    triage = client.get("/api/v1/triage?limit=2", headers=operator).json()
    assert [t["id"] for t in triage["items"]] == ids[:2]  # oldest first


def test_filters(client: TestClient, operator: dict[str, str]) -> None:
    ids = _seed(client, operator, 5)
    _dispatch(client, operator, ids[1], lead_unit="tax", subdistrict="malu")
    _dispatch(client, operator, ids[2], lead_unit="hrss", assist_units=["tax"])

    def found(query: str) -> list[int]:
        page = client.get(f"/api/v1/tickets?{query}", headers=operator).json()
        assert page["count"] == len(page["items"])
        return sorted(t["id"] for t in page["items"])

    assert found("status=dispatched") == [ids[1], ids[2]]
    assert found("status=triage") == [ids[0], ids[3], ids[4]]
    assert found("unit=tax") == [ids[1], ids[2]]
    assert found("subdistrict=malu") == [ids[1]]
    # 08:00 in Shanghai is midnight UTC: "from" is inclusive, "to" exclusive.
    assert found("from=2026-11-02T08:00:00%2B08:00&to=2026-11-04T00:00:00Z") == ids[1:3]


def test_bad_query_values_are_422(client: TestClient, operator: dict[str, str]) -> None:
    for query in ("status=lost", "limit=0", "limit=1000", "from=yesterday"):
        response = client.get(f"/api/v1/tickets?{query}", headers=operator)
        assert response.status_code == 422, query


def test_each_role_sees_its_own(
    client: TestClient, operator: dict[str, str], make_user: MakeUser
) -> None:
    # Addresses that name no 街镇: each ticket's area comes from its dispatch.
    ids = _seed(client, operator, 4, address="上海市嘉定区")
    _dispatch(client, operator, ids[0], lead_unit="tax")
    _dispatch(client, operator, ids[1], lead_unit="hrss", subdistrict="anting")
    _dispatch(
        client, operator, ids[2], lead_unit="hrss", assist_units=["anting"], subdistrict="malu"
    )
    tax = make_user(Role.UNIT_HANDLER, "tax")
    anting = make_user(Role.SUBDISTRICT, "anting")
    supervisor = make_user(Role.SUPERVISOR)

    def seen(who: dict[str, str]) -> list[int]:
        return sorted(t["id"] for t in client.get("/api/v1/tickets", headers=who).json()["items"])

    assert seen(tax) == [ids[0]]
    assert seen(anting) == [ids[1], ids[2]]  # its own area, and what it assists
    assert seen(supervisor) == ids
    assert client.get(f"/api/v1/tickets/{ids[1]}", headers=tax).status_code == 404
    assert client.get(f"/api/v1/tickets/{ids[1]}/events", headers=tax).status_code == 404
    assert client.get("/api/v1/triage", headers=tax).status_code == 403
    assert client.get("/api/v1/tickets/999999", headers=supervisor).status_code == 404
    # An address that names the 街镇 puts the ticket in its area from intake on.
    (in_anting,) = _seed(client, operator, 1, first=4)
    assert in_anting in seen(anting) and in_anting not in seen(tax)
