"""The city platform's HTTP side: fetching pages of orders and reporting loop steps back."""

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from integrations import signing
from integrations.mapping import Connector
from integrations.notifiers import DeliveryError

log = logging.getLogger("qisu.platform")

IDEMPOTENCY_HEADER = "Idempotency-Key"


class FetchError(Exception):
    """The platform did not give a page after every retry; the poller tries at its next run."""


@dataclass(frozen=True)
class Page:
    """One page of orders and where the next one starts."""

    orders: list[Any]
    next_cursor: str
    more: bool


class PlatformClient:
    """Talks to one source's platform with timeouts; pages are retried with doubling waits."""

    def __init__(
        self,
        connector: Connector,
        secret: str,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.connector = connector
        self.secret = secret
        self.client = client or httpx.Client()
        self.sleep = sleep
        self.clock = clock

    def fetch_page(self, cursor: str) -> Page:
        """The orders after `cursor`; raises FetchError when every retry failed."""
        pull = self.connector.pull
        if pull is None:
            raise FetchError(f"{self.connector.source} has no pull configured")
        params = {pull.cursor_param: cursor, pull.limit_param: str(pull.page_size)}
        error = ""
        for attempt in range(pull.retries + 1):
            if attempt:
                self.sleep(min(0.5 * 2 ** (attempt - 1), 8.0))
            try:
                response = self.client.get(pull.url, params=params, timeout=pull.timeout_seconds)
                if response.status_code >= 300:
                    error = f"HTTP {response.status_code}"
                    continue
                body = response.json()
                orders = body[pull.items]
                if not isinstance(orders, list):
                    raise TypeError(f"{pull.items} is not a list")
                next_cursor = body.get(pull.next_cursor) or cursor
                return Page(orders, str(next_cursor), bool(body.get(pull.more, False)))
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            except (ValueError, KeyError, TypeError) as exc:
                error = f"unreadable page: {exc!r}"
            log.warning("fetching %s after %r failed (%s)", self.connector.source, cursor, error)
        raise FetchError(
            f"{self.connector.source}: no page after {pull.retries + 1} tries: {error}"
        )

    def report(self, payload: dict[str, Any], *, key: str) -> None:
        """POST one step report, signed, with its idempotency key; raises DeliveryError."""
        outbound = self.connector.outbound
        if outbound is None:
            raise DeliveryError(f"{self.connector.source} has no outbound configured")
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: key,
            **signing.headers(self.secret, int(self.clock()), body),
        }
        try:
            response = self.client.post(
                outbound.url, content=body, headers=headers, timeout=outbound.timeout_seconds
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 300:
            raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}")
