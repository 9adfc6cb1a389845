"""The closed loop through the console: intake by phone, the department's work, the callback."""

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from models import Role
from tests.browser.conftest import Person, shoot, sign_in
from tests.conftest import credit_code
from tests.integration.conftest import LiveServer
from tests.routing.test_routed_intake import LICENCE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    # One real server and browser per test is slow enough; the API is tested on both backends.
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def row(page: Page, table: str, ticket: int) -> Locator:
    """The table row that shows this ticket."""
    return page.locator(
        f'[data-test="{table}"] tbody tr', has=page.locator(f'[data-ticket="{ticket}"]')
    )


def act(page: Page, table: str, ticket: int, action: str, **fields: str) -> None:
    """Click an action on a row; fill its dialog when it asks for something; wait for the news."""
    row(page, table, ticket).locator(f'[data-action="{action}"]').click()
    if fields:
        dialog = page.locator('[data-test="action-dialog"]:visible')
        for label, value in fields.items():
            if label == "满意度":
                dialog.locator(".el-radio-button", has_text=value).first.click()
            else:
                dialog.get_by_label(label).fill(value)
        page.locator('[data-test="action-submit"]:visible').click()
    expect(page.locator(".el-message--success").last).to_be_visible()
    page.locator(".el-message--success").last.wait_for(state="detached", timeout=10_000)


def tab(page: Page, name: str) -> None:
    page.locator(f'[data-tab="{name}"]').click()
    page.wait_for_url(f"**tab={name}**")


def test_an_appeal_goes_round_the_whole_loop_in_the_browser(
    server: LiveServer, person: Callable[..., Person], contexts: Callable[[], BrowserContext]
) -> None:
    operator = person("王接线", "wang", Role.OPERATOR)
    market = person("李经办", "li.market", Role.UNIT_HANDLER, "market_regulation")
    desk = contexts().new_page()
    sign_in(desk, server, operator.login)
    expect(desk.locator('[data-test="who"]')).to_contain_text("王接线")
    expect(desk.locator('[data-test="who"]')).to_contain_text("热线接线员")
    desk.wait_for_url("**/desk/intake")

    # 接听登记: the check character is checked as it is typed.
    code = credit_code(7)
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    desk.get_by_label("统一社会信用代码").fill(wrong)
    expect(desk.locator('[data-test="code-problem"]')).to_contain_text("校验位错误")
    desk.get_by_label("统一社会信用代码").fill(code)
    expect(desk.locator('[data-test="code-problem"]')).to_have_count(0)
    desk.locator('input[name="enterprise_name"]').fill("上海嘉定测试科技有限公司")
    desk.locator('input[name="contact_name"]').fill("赵先生")
    desk.locator('input[name="phone"]').fill("13900001111")
    desk.locator('input[name="address"]').fill("嘉定区安亭镇墨玉路185号")
    desk.locator('textarea[name="text"]').fill(LICENCE)
    # While the operator is still on the phone, routing proposes the lead unit.
    expect(desk.locator('[data-test="preview-lead"]')).to_contain_text("区市场监管局")
    expect(desk.locator('[data-test="preview"]')).to_contain_text("条线部门牵头")
    expect(desk.locator('[data-test="preview"]')).to_contain_text("安亭镇")
    shoot(desk, "intake")
    desk.locator('[data-test="intake-submit"]').click()
    desk.wait_for_url("**/tickets/*")
    ticket = int(desk.url.rsplit("/", 1)[1])
    expect(desk.locator('[data-test="ticket-title"]')).to_contain_text("已分拨")

    # The department: 签收, 先行联系, 答复.
    unit = contexts().new_page()
    sign_in(unit, server, market.login)
    unit.wait_for_url("**/workbench")
    expect(unit.locator('[data-test="who"]')).to_contain_text("区市场监督管理局")
    expect(row(unit, "workbench-table", ticket)).to_contain_text("正常")
    shoot(unit, "workbench")
    act(unit, "workbench-table", ticket, "acknowledge")
    tab(unit, "doing")
    act(unit, "workbench-table", ticket, "contact", 联系情况="已电话联系赵先生，核实变更材料齐全")
    act(
        unit,
        "workbench-table",
        ticket,
        "reply",
        答复内容="变更登记已于今日核准，请登录一网通办领取电子执照",
    )
    tab(unit, "done")
    expect(row(unit, "workbench-table", ticket)).to_contain_text("已答复")

    # 回访: the enterprise is not satisfied, so the ticket is reopened (重办).
    desk.goto(f"{server.url}/desk/callback")
    expect(row(desk, "callback-table", ticket)).to_contain_text("变更登记已于今日核准")
    shoot(desk, "callback")
    act(
        desk,
        "callback-table",
        ticket,
        "callback",
        满意度="不满意",
        回访记录="企业称尚未收到电子执照",
    )

    # The department does it again.
    tab(unit, "todo")
    expect(row(unit, "workbench-table", ticket)).to_contain_text("重办")
    act(unit, "workbench-table", ticket, "acknowledge")
    tab(unit, "doing")
    act(unit, "workbench-table", ticket, "contact", 联系情况="再次联系企业，指导其下载电子执照")
    act(unit, "workbench-table", ticket, "reply", 答复内容="已协助企业下载电子营业执照，变更完成")

    # Satisfied this time; then 结案.
    desk.goto(f"{server.url}/desk/callback")
    act(desk, "callback-table", ticket, "callback", 满意度="满意")
    desk.goto(f"{server.url}/desk/callback?tab=verified")
    act(desk, "callback-table", ticket, "close", 结案说明="企业确认问题已解决")

    # The ticket page: every step in the timeline, newest first, in Chinese.
    desk.goto(f"{server.url}/tickets/{ticket}")
    expect(desk.locator('[data-test="ticket-title"]')).to_contain_text("已结案")
    timeline = desk.locator('[data-test="timeline"] [data-event]')
    expect(timeline.first).to_be_visible()
    actions = [timeline.nth(i).get_attribute("data-event") for i in range(timeline.count())]
    assert actions == [
        "close",
        "callback",
        "reply",
        "contact",
        "acknowledge",
        "callback",
        "reply",
        "contact",
        "acknowledge",
        "dispatch",
        "received",
    ]
    text = desk.locator('[data-test="timeline"]').inner_text()
    assert "结案" in text and "回访" in text and "先行联系" in text and "李经办" in text
    assert "状态：已回访 → 已结案" in text
    assert "状态：已答复 → 重办" in text
    assert "企业称尚未收到电子执照" in text
    expect(desk.locator('[data-test="ticket-reply"]')).to_contain_text("已协助企业下载电子营业执照")
    shoot(desk, "ticket")
