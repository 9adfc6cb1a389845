"""The built console is served at / with a single-page fallback; the API keeps its paths."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from core.config import Settings
from web.console import mount_console
from web.settings import get_web_settings

INDEX = '<!doctype html><html lang="zh-CN"><div id="app"></div></html>'


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A built console as Vite leaves it: index.html and hashed assets."""
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX, encoding="utf-8")
    (root / "assets" / "index-Ab12Cd34.js").write_text("console.log(1)", encoding="utf-8")
    (root / "favicon.ico").write_bytes(b"\x00\x00")
    (tmp_path / "secret.txt").write_text("outside", encoding="utf-8")
    return root


@pytest.fixture
def bare(dist: Path) -> TestClient:
    """An app with one API route and the console mounted after it."""
    app = FastAPI()

    @app.get("/api/v1/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    mount_console(app, dist)
    return TestClient(app)


@pytest.mark.parametrize("path", ["/", "/workbench", "/tickets/42", "/desk/intake?x=1"])
def test_every_console_route_is_index_html_never_cached(bare: TestClient, path: str) -> None:
    response = bare.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"


def test_hashed_assets_are_cached_long(bare: TestClient) -> None:
    response = bare.get("/assets/index-Ab12Cd34.js")
    assert response.status_code == 200
    assert response.text == "console.log(1)"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert bare.get("/favicon.ico").headers["cache-control"] == "no-cache"


def test_a_stale_asset_is_404_not_the_page(bare: TestClient) -> None:
    assert bare.get("/assets/index-Old00000.js").status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api", "/docs/x", "/openapi.json/x"])
def test_api_paths_are_never_the_console(bare: TestClient, path: str) -> None:
    response = bare.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_api_routes_still_answer(bare: TestClient) -> None:
    assert bare.get("/api/v1/ping").json() == {"pong": "yes"}


def test_nothing_outside_dist_is_served(bare: TestClient) -> None:
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        response = bare.get(path)
        assert "outside" not in response.text


def test_missing_build_says_how_to_build_it(tmp_path: Path) -> None:
    app = FastAPI()
    mount_console(app, tmp_path / "nowhere")
    response = TestClient(app).get("/workbench")
    assert response.status_code == 503
    assert "控制台尚未构建" in response.text
    assert "npm ci" in response.text and "QISU_WEB_DIR" in response.text


@pytest.fixture
def web_dir(dist: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("QISU_WEB_DIR", str(dist))
    get_web_settings.cache_clear()
    yield dist
    get_web_settings.cache_clear()


def test_the_app_serves_qisu_web_dir_after_its_api(web_dir: Path, settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/tickets/7").text == INDEX
        # A page's state lives in its URL: the API's refusal of unknown parameters is not its.
        assert client.get("/desk/callback?tab=verified&page=2").text == INDEX
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/openapi.json").json()["info"]["title"] == "qisu 企诉"
        assert client.get("/docs").status_code == 200
        assert client.get("/api/v1/units").status_code == 401
        assert client.get("/api/v1/unknown").json()["code"] == "not_found"


def test_the_image_builds_the_console_in_a_node_stage() -> None:
    """Checked statically (no Docker engine here): npm ci from the lock, dist into the image."""
    root = Path(__file__).resolve().parents[2]
    dockerfile = (root / "docker" / "Dockerfile").read_text()
    assert "FROM node:20-slim AS console" in dockerfile
    assert "COPY web/package.json web/package-lock.json ./" in dockerfile
    assert "RUN npm ci" in dockerfile and "RUN npm run build" in dockerfile
    assert "COPY --from=console /web/dist web/dist" in dockerfile
    assert dockerfile.index("COPY web web") < dockerfile.index("COPY --from=console")
    assert (root / "web" / "package-lock.json").exists()
