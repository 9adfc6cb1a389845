"""A generic HTTP SMS gateway: the body from a template, signed as the gateway asks."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from integrations.notifiers import DeliveryError, Message
from integrations.settings import IntegrationSettings


def _fill(template: Any, values: dict[str, str]) -> Any:
    """The template with {name} replaced in every string (JSON-safe: no escaping by hand)."""
    if isinstance(template, str):
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        return template
    if isinstance(template, list):
        return [_fill(item, values) for item in template]
    if isinstance(template, dict):
        return {key: _fill(value, values) for key, value in template.items()}
    return template


class SmsGateway:
    """Sends one text to one phone; a non-2xx answer or a failure code raises DeliveryError."""

    def __init__(
        self,
        settings: IntegrationSettings,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.template = json.loads(settings.sms_body_template)
        self.client = client or httpx.Client(timeout=10)
        self.clock = clock

    def text(self, message: Message) -> str:
        """The message in the SMS template, cut to the gateway's length."""
        text = self.settings.sms_text_template.replace("{text}", message.text)
        limit = self.settings.sms_max_chars
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def body(self, phone: str, message: Message) -> bytes:
        """The request body for one phone."""
        values = {"phone": phone, "text": self.text(message), "kind": message.kind}
        return json.dumps(_fill(self.template, values), ensure_ascii=False).encode()

    def signature(self, timestamp: int, body: bytes) -> str:
        """The gateway's signature of this request."""
        signed = (
            self.settings.sms_signed.replace("{timestamp}", str(timestamp))
            .replace("{body}", body.decode())
            .encode()
        )
        digest = hmac.new(self.settings.sms_secret.encode(), signed, hashlib.sha256).digest()
        if self.settings.sms_signature_encoding == "base64":
            return base64.b64encode(digest).decode()
        return digest.hex()

    def send(self, phone: str, message: Message) -> None:
        """POST the text; raises DeliveryError when the gateway does not take it."""
        body = self.body(phone, message)
        stamp = int(self.clock())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            self.settings.sms_timestamp_header: str(stamp),
            self.settings.sms_signature_header: self.signature(stamp, body),
        }
        try:
            response = self.client.post(self.settings.sms_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 300:
            raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}")
        field, wanted = self.settings.sms_ok_field, self.settings.sms_ok_value
        if field:
            try:
                got = response.json().get(field)
            except (ValueError, AttributeError):
                raise DeliveryError(f"unreadable answer: {response.text[:200]}") from None
            if str(got) != wanted:
                raise DeliveryError(f"gateway refused: {response.text[:200]}")
