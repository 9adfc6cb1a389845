"""Triage by one click, two browsers racing, a locked login, another unit's ticket, expiry."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import BrowserContext, expect
from sqlalchemy import text
from sqlalchemy.engine import Engine

from models import Role, utcnow
from tests.browser.conftest import Person, api, shoot, sign_in
from tests.conftest import credit_code, ticket_payload
from tests.integration.conftest import LiveServer
from tests.routing.test_routed_intake import LICENCE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def appeal(server: LiveServer, operator: Person, n: int, **overrides: str) -> dict[str, object]:
    """Take an appeal in over the API (the licence matter routes to 区市场监管局)."""
    body = ticket_payload(n, text=LICENCE, title=None, **overrides)
    ticket: dict[str, object] = api(server, operator, "POST", "/tickets", json=body)
    return ticket


def test_a_triaged_ticket_is_dispatched_by_clicking_a_candidate(
    server: LiveServer, person: Callable[..., Person], contexts: Callable[[], BrowserContext]
) -> None:
    operator = person("王接线", "wang", Role.OPERATOR)
    # Outside Jiading: routing asks a person (a line matter without a 街镇 now leads, item 52).
    ticket = appeal(server, operator, 1, address="上海市徐汇区华亭路1号")
    assert ticket["status"] == "triage", ticket
    page = contexts().new_page()
    sign_in(page, server, operator.login)
    page.goto(f"{server.url}/desk/triage")
    row = page.locator(
        '[data-test="triage-table"] tbody tr', has=page.locator(f'[data-ticket="{ticket["id"]}"]')
    )
    expect(row).to_contain_text("地址不在嘉定区（转人工）")
    expect(row).to_contain_text("地址不在嘉定区（")
    shoot(page, "triage")
    row.locator('[data-candidate="market_regulation"]').click()
    expect(page.locator(".el-message--success")).to_contain_text("已分拨至区市场监管局")
    expect(page.locator('[data-test="triage-table"]')).to_contain_text("待分拨队列为空")
    after = api(server, operator, "GET", f"/tickets/{ticket['id']}")
    assert (after["status"], after["lead_unit"]) == ("dispatched", "market_regulation")
    assert after["routing"]["correct"] is True  # the operator chose routing's own best guess
    # The supervisor queue is a filter in the URL.
    page.get_by_text("督办裁定", exact=True).click()
    page.wait_for_url("**rule=supervisor**")
    expect(page.locator('[data-test="triage-table"]')).to_contain_text("待分拨队列为空")

    # The same enterprise calls again: its name is filled in, and the preview finds the repeat.
    page.goto(f"{server.url}/desk/intake")
    page.get_by_label("统一社会信用代码").fill(credit_code(1))
    expect(page.locator('input[name="enterprise_name"]')).to_have_value("上海测试企业1有限公司")
    expect(page.locator('[data-test="enterprise-note"]')).to_contain_text("已登记企业")
    page.locator('input[name="address"]').fill("嘉定区安亭镇墨玉路185号")
    page.locator('textarea[name="text"]').fill(LICENCE)
    expect(page.locator('[data-test="preview-repeats"]')).to_contain_text(f"工单 {ticket['id']}")
    expect(page.locator('[data-test="preview"]')).to_contain_text("重复诉求")
    shoot(page, "intake-repeat")


def test_two_browsers_acting_on_one_ticket_see_a_409_in_chinese(
    server: LiveServer, person: Callable[..., Person], contexts: Callable[[], BrowserContext]
) -> None:
    operator = person("王接线", "wang", Role.OPERATOR)
    person("李经办", "li.market", Role.UNIT_HANDLER, "market_regulation")
    person("张经办", "zhang.market", Role.UNIT_HANDLER, "market_regulation")
    ticket = appeal(server, operator, 1, address="嘉定区安亭镇墨玉路185号")
    assert ticket["status"] == "dispatched"
    first, second = contexts().new_page(), contexts().new_page()
    for page, login in ((first, "li.market"), (second, "zhang.market")):
        sign_in(page, server, login)
        page.goto(f"{server.url}/tickets/{ticket['id']}")
        expect(page.locator('[data-action="acknowledge"]')).to_be_visible()
    first.locator('[data-action="acknowledge"]').click()
    expect(first.locator(".el-message--success")).to_contain_text("已签收")
    second.locator('[data-action="acknowledge"]').click()  # its page still shows 已分拨
    error = second.locator(".el-message--error")
    expect(error).to_be_visible()
    message = error.inner_text()
    assert any("\u4e00" <= c <= "\u9fff" for c in message), message
    assert "已被他人修改" in message, message  # stale_version: the first browser acted first
    shoot(second, "conflict")
    # The view reloads: the second browser now shows what the first did.
    expect(second.locator('[data-test="ticket-title"]')).to_contain_text("已签收")
    expect(second.locator('[data-action="acknowledge"]')).to_have_count(0)


def test_five_wrong_passwords_lock_the_account(
    server: LiveServer, person: Callable[..., Person], contexts: Callable[[], BrowserContext]
) -> None:
    person("王接线", "wang", Role.OPERATOR)
    page = contexts().new_page()
    page.goto(f"{server.url}/login")
    login, password = page.get_by_placeholder("请输入登录名"), page.get_by_placeholder("请输入密码")
    login.fill("wang")
    for attempt in range(5):
        password.fill(f"wrong-password-{attempt}")
        password.press("Enter")
        expect(page.locator('[data-test="login-error"]')).to_be_visible()
        if attempt < 4:
            expect(page.locator('[data-test="login-error"]')).to_contain_text("登录名或密码错误")
    password.fill("Qisu-test-2026")  # the right one, too late
    password.press("Enter")
    expect(page.locator('[data-test="login-error"]')).to_contain_text("账户已锁定")
    expect(page.locator('[data-test="login-error"]')).to_contain_text("15 分钟")
    assert "/login" in page.url
    shoot(page, "login-locked")


def test_a_department_cannot_open_another_units_ticket_by_url(
    server: LiveServer, person: Callable[..., Person], contexts: Callable[[], BrowserContext]
) -> None:
    operator = person("王接线", "wang", Role.OPERATOR)
    person("刘经办", "liu.hrss", Role.UNIT_HANDLER, "hrss")
    ticket = appeal(server, operator, 1, address="嘉定区安亭镇墨玉路185号")
    assert ticket["lead_unit"] == "market_regulation"
    page = contexts().new_page()
    sign_in(page, server, "liu.hrss")
    page.goto(f"{server.url}/tickets/{ticket['id']}")
    expect(page.get_by_text("工单不存在")).to_be_visible()
    expect(page.get_by_text(f"工单 {ticket['id']} 不存在，或不在您可查看的范围内")).to_be_visible()
    expect(page.locator('[data-test="ticket-text"]')).to_have_count(0)
    assert LICENCE not in page.content()
    shoot(page, "not-found")


def test_an_expired_session_goes_back_to_sign_in_and_returns(
    server: LiveServer,
    person: Callable[..., Person],
    contexts: Callable[[], BrowserContext],
    engine: Engine,
) -> None:
    operator = person("王接线", "wang", Role.OPERATOR)
    ticket = appeal(server, operator, 1, address="嘉定区安亭镇墨玉路185号")
    page = contexts().new_page()
    sign_in(page, server, operator.login)
    page.goto(f"{server.url}/tickets")
    expect(page.locator('[data-test="ticket-table"]')).to_contain_text(str(ticket["id"]))
    shoot(page, "tickets")
    with engine.begin() as connection:  # 30 idle minutes pass
        connection.execute(
            text("UPDATE user_session SET expires_at = :past"),
            {"past": utcnow() - timedelta(minutes=1)},
        )
    page.locator(f'[data-ticket="{ticket["id"]}"]').click()
    page.wait_for_url("**/login**")
    expect(page.locator('[data-test="login-reason"]')).to_contain_text("登录已超时，请重新登录")
    shoot(page, "session-expired")
    page.get_by_placeholder("请输入登录名").fill(operator.login)
    page.get_by_placeholder("请输入密码").fill("Qisu-test-2026")
    page.get_by_placeholder("请输入密码").press("Enter")
    page.wait_for_url(f"**/tickets/{ticket['id']}")
    expect(page.locator('[data-test="ticket-text"]')).to_contain_text("营业执照")
