"""The app runs with the configuration it was given, never one read from the environment."""

from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from core.config import Settings
from deadlines.policy import DEFAULT_POLICY
from integrations.settings import IntegrationSettings
from models import Role
from routing.settings import RoutingSettings
from tests.conftest import MakeUser, ticket_payload
from tests.integrations.connector import SECRET, connector_text

SHIPPED = DEFAULT_POLICY.read_text(encoding="utf-8")


def _acknowledge_window(client: TestClient, operator: dict[str, str], n: int) -> timedelta:
    """How long the lead unit has to 签收 a ticket dispatched now."""
    ticket = client.post("/api/v1/tickets", json=ticket_payload(n), headers=operator).json()
    url = f"/api/v1/tickets/{ticket['id']}/dispatch"
    dispatched = client.post(url, json={"lead_unit": "market_regulation"}, headers=operator)
    assert dispatched.status_code == 200, dispatched.text
    (clock,) = [d for d in dispatched.json()["deadlines"] if d["stage"] == "acknowledge"]
    return datetime.fromisoformat(clock["due_at"]) - datetime.fromisoformat(clock["started_at"])


def test_each_app_counts_deadlines_by_the_policy_its_settings_name(
    settings: Settings, tmp_path: Path, make_user: MakeUser
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        SHIPPED.replace("acknowledge: 4 working_hours", "acknowledge: 3 clock_hours"), "utf-8"
    )
    operator = make_user(Role.OPERATOR)
    own = settings.model_copy(update={"sla_policy": policy})
    # Both apps live in one process at once: neither reads a process-wide policy.
    with (
        TestClient(create_app(own), raise_server_exceptions=False) as given,
        TestClient(create_app(settings), raise_server_exceptions=False) as shipped,
    ):
        assert _acknowledge_window(given, operator, 1) == timedelta(hours=3)
        assert _acknowledge_window(shipped, operator, 2) != timedelta(hours=3)


def test_intake_merges_resubmissions_by_the_routing_settings_it_was_given(
    settings: Settings, make_user: MakeUser
) -> None:
    operator = make_user(Role.OPERATOR)
    first = ticket_payload(1)
    again = ticket_payload(1, external_id="JD-AGAIN")  # the same appeal under a new id
    other = ticket_payload(1, external_id="JD-OTHER")
    with TestClient(create_app(settings), raise_server_exceptions=False) as merging:
        original = merging.post("/api/v1/tickets", json=first, headers=operator).json()
        merged = merging.post("/api/v1/tickets", json=again, headers=operator)
        assert merged.status_code == 200 and merged.json()["id"] == original["id"]
    never = RoutingSettings(merge_minutes=0)  # 0: a resubmission is a ticket of its own
    with TestClient(create_app(settings, never), raise_server_exceptions=False) as separate:
        own = separate.post("/api/v1/tickets", json=other, headers=operator)
        assert own.status_code == 201 and own.json()["id"] != original["id"]


def test_each_app_keeps_the_connectors_and_the_model_it_started_with(
    settings: Settings, tmp_path: Path
) -> None:
    connector = tmp_path / "sh12345.yaml"
    connector.write_text(connector_text(), encoding="utf-8")
    platform = IntegrationSettings(
        platform_sources=[connector], platform_secrets={"sh12345": SECRET}
    )
    nothing = IntegrationSettings(platform_sources=[], platform_secrets={})
    # Both apps live in one process at once: neither reads process-wide connectors or model.
    with (
        TestClient(create_app(settings, integrations=platform), raise_server_exceptions=False) as a,
        TestClient(create_app(settings, integrations=nothing), raise_server_exceptions=False) as b,
    ):
        unsigned = a.post("/api/v1/inbound/sh12345", content=b"{}")
        assert unsigned.status_code == 401, unsigned.text  # a known source, refused unsigned
        unknown = b.post("/api/v1/inbound/sh12345", content=b"{}")
        assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_source"
        served = [client.app.state.serving_model for client in (a, b)]  # type: ignore[attr-defined]
        assert served[0] is not served[1]
