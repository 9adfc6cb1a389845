"""Where the built console lives (prefix QISU_WEB_): `QISU_WEB_DIR` overrides web/dist."""

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

BUILT = Path(__file__).resolve().parent / "dist"


class WebSettings(BaseSettings):
    """The console's built files."""

    model_config = SettingsConfigDict(env_prefix="QISU_WEB_", env_file=".env", extra="ignore")

    dir: Path = BUILT  # what `npm run build` in web/ writes


@lru_cache
def get_web_settings() -> WebSettings:
    """The process-wide console settings."""
    return WebSettings()
