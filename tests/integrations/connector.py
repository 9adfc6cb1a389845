"""The shipped connector file pointed at a test's platform, and the settings that name it."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from integrations.mapping import Connector
from integrations.settings import get_integration_settings
from tickets import connectors

SHIPPED = Path(__file__).resolve().parents[2] / "integrations" / "data" / "shanghai-12345.yaml"
SECRET = "test-secret-不要外传"


def connector_text(platform_url: str = "http://127.0.0.1:9") -> str:
    """The shipped connector with its platform at `platform_url`."""
    return SHIPPED.read_text(encoding="utf-8").replace("http://127.0.0.1:9345", platform_url)


def use_connector(monkeypatch: pytest.MonkeyPatch, path: Path, **env: str) -> None:
    """Make `path` the process's only connector (settings are read afresh)."""
    monkeypatch.setenv("QISU_PLATFORM_SOURCES", f'["{path}"]')
    monkeypatch.setenv("QISU_PLATFORM_SECRETS", json.dumps({"sh12345": SECRET}))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset()


def reset() -> None:
    """Forget the cached settings (an app loads its connectors from them when it starts)."""
    get_integration_settings.cache_clear()


def configured() -> dict[str, Connector]:
    """The connectors the environment names, as an app or a command loads them."""
    return connectors.load(get_integration_settings())


@pytest.fixture
def connector_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The shipped connector, configured for this test."""
    path = tmp_path / "sh12345.yaml"
    path.write_text(connector_text(), encoding="utf-8")
    use_connector(monkeypatch, path)
    yield path
    monkeypatch.undo()
    reset()
