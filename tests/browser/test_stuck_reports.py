"""平台上报 in Chromium: an administrator sees a stuck report and skips it with a reason."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import BrowserContext, expect
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.db import session_scope
from models import OutboundEvent, OutboundState, Role, utcnow
from tests.browser.conftest import Person, api, shoot, sign_in
from tests.conftest import ticket_payload
from tests.integration.conftest import LiveServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_an_administrator_skips_a_stuck_report_and_the_menu_is_theirs_alone(
    server: LiveServer,
    person: Callable[..., Person],
    contexts: Callable[[], BrowserContext],
    engine: Engine,
) -> None:
    admin = person("周管理", "zhou", Role.ADMIN)
    operator = person("王接线", "wang", Role.OPERATOR)
    ticket = api(server, operator, "POST", "/tickets", json=ticket_payload(1))
    with session_scope(engine, write=True) as session:  # a report the platform keeps refusing
        event = OutboundEvent(
            ticket_id=ticket["id"], source="sh12345", action="acknowledge",
            idempotency_key=f"sh12345:X1:{ticket['id']}:acknowledge", payload={"step": "QS"},
            attempts=4, last_error="HTTP 503 from the platform",
            created_at=utcnow() - timedelta(hours=2),
        )  # fmt: skip
        session.add(event)
        session.flush()
        event_id = event.id
    page = contexts().new_page()
    sign_in(page, server, admin.login)
    page.get_by_role("menuitem", name="平台上报").click()
    page.wait_for_url("**/admin/outbound")
    table = page.locator('[data-test="stuck-table"]')
    expect(table).to_contain_text("签收")
    expect(table).to_contain_text("HTTP 503 from the platform")
    expect(table).to_contain_text("2.0 小时")
    shoot(page, "stuck-reports")
    page.locator(f'[data-skip="{event_id}"]').click()
    page.locator(".el-message-box input").fill("平台已人工补录签收")
    page.get_by_role("button", name="跳过").last.click()
    expect(page.locator(".el-message--success")).to_contain_text(f"上报 {event_id} 已跳过")
    expect(table).to_contain_text("没有滞留的上报")
    with Session(engine) as session:
        row = session.get(OutboundEvent, event_id)
        assert row is not None and row.state == OutboundState.SKIPPED
        assert "周管理" in (row.last_error or "") and "平台已人工补录签收" in (row.last_error or "")

    desk = contexts().new_page()
    sign_in(desk, server, operator.login)
    expect(desk.get_by_role("menuitem", name="平台上报")).to_have_count(0)
    desk.goto(f"{server.url}/admin/outbound")
    expect(desk.locator(".el-message--warning")).to_contain_text("不对您的角色开放")
