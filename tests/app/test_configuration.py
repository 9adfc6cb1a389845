"""The app runs with the configuration it was given, never one read from the environment."""

from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from core.config import Settings
from deadlines.policy import DEFAULT_POLICY
from models import Role
from routing.settings import RoutingSettings
from tests.conftest import MakeUser, ticket_payload

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
