"""Item 7: /metrics in Prometheus's format, and the scheduler's heartbeat in /readyz."""

import re

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.scheduler import sweep_and_beat
from deadlines.policy import load_policy
from tests.conftest import ticket_payload


def _value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(match[1]) if match else 0.0


def test_metrics_count_requests_intakes_routing_and_sweeps(
    client: TestClient, engine: Engine, operator: dict[str, str]
) -> None:
    before = client.get("/metrics").text
    intake = 'qisu_http_requests_total{method="POST",route="/api/v1/tickets",status="201"}'
    channel = 'qisu_intakes_total{channel="hotline"}'
    assert (
        client.post("/api/v1/tickets", json=ticket_payload(), headers=operator).status_code == 201
    )
    assert client.post("/api/v1/tickets", json={}).status_code == 401
    sweep_and_beat(engine, load_policy())
    after = client.get("/metrics")
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")
    text = after.text
    assert _value(text, intake) == _value(before, intake) + 1
    assert _value(text, channel) == _value(before, channel) + 1
    refused = 'qisu_http_requests_total{method="POST",route="/api/v1/tickets",status="401"}'
    assert _value(text, refused) >= 1
    assert re.search(r"qisu_routing_decisions_total\{rule=\"[^\"]+\",trigger=\"intake\"\}", text), [
        line for line in text.splitlines() if "routing" in line
    ]
    assert 'qisu_http_request_duration_seconds_bucket{le="0.1",method="POST"' in text
    assert _value(text, "qisu_sweep_duration_seconds_count") >= 1
    assert 'qisu_outbox_notifications{state="pending"}' in text
    assert "qisu_model_info{version=" in text
    assert "13900000001" not in text


def test_readyz_shows_the_last_sweep(client: TestClient, engine: Engine) -> None:
    assert client.get("/readyz").json()["scheduler"] == {"last_sweep": None, "stale": True}
    sweep_and_beat(engine, load_policy())
    scheduler = client.get("/readyz").json()["scheduler"]
    assert scheduler["last_sweep"] and scheduler["stale"] is False and scheduler["age_seconds"] < 60
