"""X-Forwarded-For is believed for the enterprise channel's limits only from trusted proxies."""

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from core.addresses import client_address
from core.config import Settings
from integrations.settings import IntegrationSettings

FOLLOW = "/api/v1/enterprise/follow"
PROXIES = ["10.0.0.0/8", "192.0.2.10"]


def test_the_header_counts_only_from_a_trusted_peer_and_only_as_far_as_the_proxies() -> None:
    assert client_address("203.0.113.9", "198.51.100.1", PROXIES) == "203.0.113.9"
    assert client_address("192.0.2.10", "198.51.100.1", PROXIES) == "198.51.100.1"
    # A client's own forged hops stand left of what the proxies appended: they are not read.
    assert client_address("10.1.2.3", "1.2.3.4, 198.51.100.1, 10.0.0.9", PROXIES) == (
        "198.51.100.1"
    )
    assert client_address("10.1.2.3", "10.0.0.8, 10.0.0.9", PROXIES) == "10.0.0.8"
    assert client_address("10.1.2.3", "junk, 198.51.100.1", PROXIES) == "198.51.100.1"
    assert client_address("10.1.2.3", "198.51.100.1, junk", PROXIES) == "10.1.2.3"
    assert client_address("10.1.2.3", None, PROXIES) == "10.1.2.3"
    assert client_address("10.1.2.3", "198.51.100.1", []) == "10.1.2.3"
    assert client_address("2001:db8::1", "198.51.100.1", ["2001:db8::/32"]) == "198.51.100.1"
    assert client_address(None, "198.51.100.1", PROXIES) == "unknown"


def test_a_wrong_proxy_entry_stops_the_start_named() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300'"):
        Settings(trusted_proxies=["10.0.0.1", "10.0.0.300"])


@pytest.fixture
def three_follows() -> IntegrationSettings:
    """Three follow-ups per address in ten minutes."""
    return IntegrationSettings(enterprise_follows_per_address_10min=3)


def _follow(client: TestClient, forwarded: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    body = {"receipt_code": "QSNOSUCHCODE", "phone_last4": "1234"}
    return client.post(FOLLOW, json=body, headers=headers).status_code


def test_from_an_untrusted_peer_a_changing_header_does_not_escape_the_limit(
    settings: Settings, three_follows: IntegrationSettings
) -> None:
    app = create_app(settings, integrations=three_follows)
    with TestClient(app, raise_server_exceptions=False) as client:
        codes = [_follow(client, f"198.51.100.{n}") for n in range(1, 5)]
    assert codes == [404, 404, 404, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(
    settings: Settings, three_follows: IntegrationSettings
) -> None:
    app = create_app(
        settings.model_copy(update={"trusted_proxies": PROXIES}), integrations=three_follows
    )
    with TestClient(app, raise_server_exceptions=False, client=("10.0.0.7", 50000)) as proxy:
        assert [_follow(proxy, "198.51.100.1") for _ in range(3)] == [404, 404, 404]
        assert _follow(proxy, "198.51.100.1") == 429
        response = proxy.post(
            FOLLOW,
            json={"receipt_code": "QSNOSUCHCODE", "phone_last4": "1234"},
            headers={"X-Forwarded-For": "198.51.100.1"},
        )
        assert response.json()["detail"] == "查询过于频繁，请 10 分钟后再试"
        # A forged hop left of the proxy's own does not make the same client someone else.
        assert _follow(proxy, "203.0.113.77, 198.51.100.1") == 429
        assert _follow(proxy, "198.51.100.2") == 404  # another client behind the same proxy
        # The proxy's own requests, without the header, are the proxy's.
        assert [_follow(proxy, None) for _ in range(4)] == [404, 404, 404, 429]
