"""Application settings, read once from the environment (prefix QISU_)."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.addresses import parse_networks


class Settings(BaseSettings):
    """Where qisu keeps its data and how it serves."""

    model_config = SettingsConfigDict(env_prefix="QISU_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    sla_policy: Path | None = None  # the shipped Jiading policy when unset
    ranking_weights: Path | None = None  # the shipped weights when unset
    # A month's evaluation period opens on its first day and closes this many days after it.
    evaluation_grace_days: int = 5
    embedded_scheduler: bool = True  # sweep deadlines inside `qisu serve`
    sweep_seconds: float = 30.0
    delivery_seconds: float = 10.0
    # The dashboard's daily roll-up is refreshed this often (tickets.rollup).
    rollup_seconds: float = 60.0
    # Console sign-in: a session ends after this long without a request, and at the latest
    # after session_max_hours; wrong passwords lock a login for a while.
    session_idle_minutes: int = Field(default=30, ge=1)
    session_max_hours: int = Field(default=12, ge=1)
    session_secure_cookie: bool = False  # true behind HTTPS: the cookie is sent only there
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    # Personal data (PIPL): a closed ticket's contact is anonymised by `qisu data purge` this
    # many days after closing (3 years by default).
    personal_data_retention_days: int = Field(default=3 * 365, ge=30)
    # Request limits (see README, Security).
    max_body_bytes: int = 1024 * 1024  # a request body above this is refused with 413
    body_timeout_seconds: float = 15.0  # a body that stalls this long between chunks: 408
    keep_alive_seconds: int = 5  # an idle kept-alive connection is closed after this
    header_timeout_seconds: float = 10.0  # a connection that sends no complete head: closed
    max_header_bytes: int = 16 * 1024  # request line and headers (uvicorn's h11 limit)
    max_concurrency: int = 500  # connections and requests at once; above it, 503
    # Proxies whose X-Forwarded-For is believed (addresses or CIDR networks, JSON in the
    # environment: ["10.0.0.5", "10.1.0.0/16"]); from any other peer the header is ignored.
    trusted_proxies: list[str] = []
    log_level: str = "INFO"  # the qisu.* loggers (notifications, sweeps)
    log_file: Path | None = None  # where they write; standard error when unset

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: list[str]) -> list[str]:
        parse_networks(value)  # a wrong entry stops the start, named
        return value

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or a SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'qisu.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    """The settings read from the environment, for an entry point (the CLI, a worker) to pass
    down; a request reads the app's own (`SettingsDep`)."""
    return Settings()


def app_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
