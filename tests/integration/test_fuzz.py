"""Schemathesis over the whole OpenAPI against a real server: no 500, every answer as documented."""

import time
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from models import Role
from tests.conftest import MakeUser, ticket_payload
from tests.integration.conftest import LiveServer

BUDGET_SECONDS = 75.0  # per database: the whole run stays within about 2–3 minutes
EXAMPLES = 40  # per operation, at most


def _fuzz(
    operation: Any, *, url: str, headers: dict[str, str], until: float
) -> tuple[int, list[str]]:
    """Run one operation's cases until its share of the budget is spent."""
    cases, failures = 0, list[str]()

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        nonlocal cases
        if time.monotonic() > until:
            return
        cases += 1
        response = case.call(base_url=url, headers=headers, timeout=30)
        try:
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
        except Exception as exc:  # every failure is collected, not only the first
            failures.append(f"{operation.label}: {str(exc)[:300]}")

    run()
    return cases, failures


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_undocumented_shape(
    live_server: LiveServer, make_user: MakeUser
) -> None:
    admin = make_user(Role.ADMIN)  # admins pass every role check, so the deepest code runs
    desk = make_user(Role.OPERATOR)
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        for n in range(1, 4):  # something for ids 1..3 to find
            http.post("/api/v1/tickets", json=ticket_payload(n), headers=desk)
    schema = schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    stopped_at = time.monotonic() + BUDGET_SECONDS
    share = BUDGET_SECONDS / len(operations)
    cases, failures = 0, list[str]()
    for operation in operations:
        until = min(time.monotonic() + share, stopped_at)
        done, failed = _fuzz(operation, url=live_server.url, headers=admin, until=until)
        cases, failures = cases + done, failures + failed
    print(f"schemathesis: {len(operations)} operations, {cases} cases, {len(failures)} failures")
    assert cases >= len(operations)
    assert not failures, "\n".join(sorted(set(failures))[:20])
