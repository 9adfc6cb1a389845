"""The integrations' settings (prefix QISU_): which platform files, their secrets, the timings."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntegrationSettings(BaseSettings):
    """Which city platforms qisu talks to, and how often and how patiently."""

    model_config = SettingsConfigDict(env_prefix="QISU_", env_file=".env", extra="ignore")

    # Connector files (integrations/data/<source>.yaml); none configured means no connector.
    platform_sources: list[Path] = []
    # The HMAC-SHA256 secret of each source, by source name (JSON in the environment).
    platform_secrets: dict[str, str] = {}
    # A pushed request's timestamp may be this far from now, either way.
    platform_window_seconds: int = Field(default=300, ge=10)
    platform_poll_seconds: float = Field(default=60.0, gt=0)
    platform_delivery_seconds: float = Field(default=5.0, gt=0)
    # Reports of different tickets go out side by side (one ticket's are always one by one).
    platform_delivery_workers: int = Field(default=8, ge=1, le=64)
    # A claimed report is tried again after this, should its sender have died mid-send.
    platform_lease_seconds: float = Field(default=60.0, gt=0)
    # Retries of a report double from the first wait up to the cap; they never give up.
    platform_retry_first_seconds: float = Field(default=5.0, gt=0)
    platform_retry_cap_seconds: float = Field(default=600.0, gt=0)
    # Open311 GeoReport v2: the jurisdiction_id this endpoint serves (a client may leave it out).
    open311_jurisdiction: str = "jiading.sh.cn"
    # The SMS gateway: a generic HTTP POST. The body is a JSON template whose strings may hold
    # {phone}, {text} and {kind}; the signature is HMAC-SHA256 of `signed` ({timestamp}, {body})
    # with the secret, sent in `sms_signature_header`. Unset URL: no SMS.
    sms_url: str = ""
    sms_secret: str = ""
    sms_body_template: str = '{"mobile": "{phone}", "content": "{text}"}'
    sms_text_template: str = "【嘉定企诉】{text}"
    sms_max_chars: int = Field(default=300, ge=20)
    sms_signed: str = "{timestamp}\n{body}"
    sms_signature_header: str = "X-Sms-Signature"
    sms_timestamp_header: str = "X-Sms-Timestamp"
    sms_signature_encoding: str = Field(default="hex", pattern="^(hex|base64)$")
    # The gateway's answer means success when this JSON field holds this value ("" checks none).
    sms_ok_field: str = "code"
    sms_ok_value: str = "0"
    # SMTP for e-mail digests; unset host: no e-mail.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_sender: str = "qisu@localhost"
    smtp_starttls: bool = False
    # Channel deliveries: how often, and how many tries before one is marked failed.
    channel_delivery_seconds: float = Field(default=10.0, gt=0)
    channel_max_attempts: int = Field(default=8, ge=1)
    # The enterprise channel's limits (counted in the database, so every API worker shares them).
    enterprise_submits_per_address_hour: int = Field(default=10, ge=1)
    enterprise_submits_per_credit_code_day: int = Field(default=5, ge=1)
    enterprise_follows_per_address_10min: int = Field(default=30, ge=1)
    enterprise_follows_per_receipt_hour: int = Field(default=10, ge=1)


@lru_cache
def get_integration_settings() -> IntegrationSettings:
    """The integration settings read from the environment, for an entry point (the CLI, a
    worker) to pass down; a request reads the app's own (`IntegrationsDep`)."""
    return IntegrationSettings()


def app_integrations(request: Request) -> IntegrationSettings:
    """The integration settings the app was built with."""
    settings: IntegrationSettings = request.app.state.integrations
    return settings


IntegrationsDep = Annotated[IntegrationSettings, Depends(app_integrations)]
