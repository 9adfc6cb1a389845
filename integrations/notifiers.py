"""Where notifications go: the log, and HTTP webhooks (a WeCom group robot's text message)."""

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

log = logging.getLogger("qisu.notify")


class DeliveryError(Exception):
    """The endpoint did not take the message; it will be retried."""


@dataclass(frozen=True)
class Message:
    """One notification for one recipient ("unit:<code>" or "role:<role>")."""

    recipient: str
    kind: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)


class Notifier(Protocol):
    """Sends a message or raises DeliveryError."""

    def send(self, message: Message) -> None:
        """Deliver one message."""


class LogNotifier:
    """Writes every message to the log (always on, so nothing is ever silent)."""

    def send(self, message: Message) -> None:
        """Log the message."""
        # System-made texts (ids, units, deadlines): no contact's name or phone is ever in one.
        text = " ".join(message.text.split())
        log.info("通知 %s [%s]：%s", message.recipient, message.kind, text)


class WebhookNotifier:
    """POSTs to the URL configured for the recipient; recipients without one are skipped."""

    def __init__(
        self, urls: dict[str, str], *, timeout: float = 5.0, client: httpx.Client | None = None
    ):
        self.urls = urls
        self.client = client or httpx.Client(timeout=timeout)

    @staticmethod
    def body(message: Message) -> dict[str, Any]:
        """The WeCom group-robot text message."""
        return {"msgtype": "text", "text": {"content": message.text}}

    def send(self, message: Message) -> None:
        """POST the message; a non-2xx answer or a WeCom errcode is a failure."""
        url = self.urls.get(message.recipient)
        if url is None:
            return
        try:
            response = self.client.post(url, json=self.body(message))
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 300:
            raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            answer = response.json()
        except ValueError:
            return
        if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
            raise DeliveryError(f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}")
