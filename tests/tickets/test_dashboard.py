"""The district at a glance over HTTP: each chart's figures from a month of fixture activity."""

from typing import Any

from fastapi.testclient import TestClient

from models import Role
from tests.conftest import MakeUser
from tests.evaluations.test_rankings import month  # noqa: F401  (October's fixture activity)

OCTOBER = {"from": "2026-10-01", "to": "2026-11-01"}


def chart(client: TestClient, headers: dict[str, str], name: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/dashboard/{name}", params=OCTOBER, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_each_chart_counts_the_month(
    month: None,  # noqa: F811
    client: TestClient,
    make_user: MakeUser,
) -> None:
    boss = make_user(Role.SUPERVISOR)
    volume = chart(client, boss, "volume")
    assert volume["days"] == ["2026-10-15"] and volume["total"] == 4
    hotline = next(c for c in volume["channels"] if c["channel"] == "hotline")
    assert hotline["counts"] == [4]
    units = chart(client, boss, "units")
    assert units["lead_units"] == [{"unit": "market_regulation", "count": 4}]
    steps = {s["step"]: s for s in chart(client, boss, "funnel")["steps"]}
    assert [steps[k]["count"] for k in ("received", "dispatched", "replied", "closed")] == [
        4,
        4,
        4,
        0,
    ]
    assert steps["acknowledged"]["on_time_rate"] == 1.0
    assert steps["replied"]["on_time_rate"] == 0.75  # one reply of four was late
    assert "closed" in steps["replied"]["statuses"]
    rates = {r["unit"]: r for r in chart(client, boss, "rates")["units"]}
    market = rates["market_regulation"]
    assert market["acknowledged_on_time_rate"] == 1.0
    assert market["replied_on_time_rate"] == 0.75 and market["satisfaction_rate"] == 0.6667
    repeats = chart(client, boss, "repeats")
    assert (repeats["repeats"], repeats["total"], repeats["share"]) == (1, 4, 0.25)
    assert repeats["lead_units"] == [{"unit": "market_regulation", "count": 1}]
    routing = chart(client, boss, "routing")
    assert routing["decisions"] == 0 and routing["triage_share"] is None


def test_the_day_is_shanghai_s_and_the_span_is_checked(
    month: None,  # noqa: F811
    client: TestClient,
    make_user: MakeUser,
) -> None:
    boss = make_user(Role.SUPERVISOR)
    # 10:00 in Shanghai is 02:00 UTC: a span from 09:00 Shanghai still holds it.
    late = {"from": "2026-10-15T09:00:00", "to": "2026-10-16"}
    response = client.get("/api/v1/dashboard/volume", params=late, headers=boss)
    assert response.json()["total"] == 4
    wrong = {"from": "2026-11-01", "to": "2026-10-01"}
    refused = client.get("/api/v1/dashboard/units", params=wrong, headers=boss)
    assert refused.status_code == 422 and "晚于" in refused.json()["detail"]
    nobody = client.get("/api/v1/dashboard/units", headers=make_user(Role.UNIT_HANDLER, "hrss"))
    assert nobody.status_code == 403
