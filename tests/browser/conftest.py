"""The console in Debian's Chromium against a real `qisu serve` with a trained tiny model."""

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)
from sqlalchemy.engine import Engine

from accounts import service as accounts_service
from core.db import session_scope
from models import Role
from tests.integration.conftest import LiveServer
from tests.routing.conftest import models_dir  # noqa: F401  (the trained tiny-model registry)

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "var" / "screenshots"
PASSWORD = "Qisu-test-2026"
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}


def _newest(paths: list[Path]) -> float:
    return max((p.stat().st_mtime for p in paths if p.is_file()), default=0.0)


@pytest.fixture(scope="session")
def console_dist() -> Path:
    """web/dist, built now when it is missing or older than its sources."""
    index = WEB / "dist" / "index.html"
    sources = [*(WEB / "src").rglob("*"), WEB / "index.html", WEB / "package-lock.json"]
    if not index.exists() or index.stat().st_mtime < _newest(sources):
        if shutil.which("npm") is None:
            pytest.fail(
                "the console is not built and npm is missing: cd web && npm ci && npm run build"
            )
        if not (WEB / "node_modules").exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
        subprocess.run(["npm", "run", "build"], cwd=WEB, check=True)
    return index.parent


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium fonts-wqy-microhei")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def server(
    engine: Engine,
    tmp_path: Path,
    models_dir: Path,  # noqa: F811  (the fixture imported above)
    console_dist: Path,
) -> Iterator[LiveServer]:
    """`qisu serve` over the emptied test database, routing with the trained tiny model."""
    (tmp_path / "models").symlink_to(models_dir, target_is_directory=True)
    live = LiveServer(
        engine.url.render_as_string(hide_password=False),
        tmp_path,
        QISU_WEB_DIR=str(console_dist),
    )
    live.start()
    yield live
    live.stop()


@dataclass
class Person:
    """A console user: the login for the browser, the token for seeding over the API."""

    name: str
    login: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def person(engine: Engine) -> Callable[..., Person]:
    """Create a user with a login and the shared test password."""

    def make(name: str, login: str, role: Role, unit: str | None = None) -> Person:
        with session_scope(engine, write=True) as session:
            _, token = accounts_service.create_user(
                session, name=name, role=role, unit_code=unit, login=login, password=PASSWORD
            )
        return Person(name, login, token)

    return make


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Callable[[], BrowserContext]]:
    """Fresh browser contexts (separate cookie jars) at 1366×768 in Shanghai, closed afterwards."""
    made: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(
            viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        context.set_default_timeout(15_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def sign_in(page: Page, server: LiveServer, login: str, password: str = PASSWORD) -> None:
    """Sign in through the form, with the keyboard: Enter submits."""
    page.goto(f"{server.url}/login")
    page.get_by_placeholder("请输入登录名").fill(login)
    page.get_by_placeholder("请输入密码").fill(password)
    page.get_by_placeholder("请输入密码").press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    page.locator('[data-test="who"]').wait_for()


def shoot(page: Page, name: str) -> Path:
    """Save what the page shows at 1366×768 for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.wait_for_load_state("networkidle")
    page.locator(".el-loading-mask").first.wait_for(state="hidden")
    page.wait_for_timeout(400)  # tags and dialogs finish their entrance transitions
    page.screenshot(path=str(path))
    return path


def api(server: LiveServer, who: Person, method: str, path: str, **kwargs: Any) -> Any:
    """Seed or inspect over the API with the user's bearer token."""
    response = httpx.request(
        method, f"{server.url}/api/v1{path}", headers=who.headers, timeout=30, **kwargs
    )
    assert response.status_code < 400, response.text
    return response.json()
