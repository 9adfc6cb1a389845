"""The console's part 2 in Chromium: 吹哨 and 报到, 反向评价 until the period closes, the
department's scorecard, 督办's extension approval, a 一类事 cluster from the dashboard, the XLSX
ranking, and navigation by role."""

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import BrowserContext, Locator, Page, expect

from core.timezone import SHANGHAI
from models import Role, utcnow
from tests.browser.conftest import Person, api, shoot, sign_in
from tests.browser.test_loop import act, row
from tests.conftest import ticket_payload
from tests.integration.conftest import LiveServer
from tests.routing.test_routed_intake import LICENCE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

MONTH = utcnow().astimezone(SHANGHAI).strftime("%Y-%m")


def appeal(server: LiveServer, operator: Person, n: int, **overrides: str) -> dict[str, object]:
    """Take the licence matter in over the API: routing gives it to 区市场监管局."""
    address = f"嘉定区安亭镇墨玉路{100 + n}号"
    body = ticket_payload(n, text=LICENCE, title=None, address=address, **overrides)
    ticket: dict[str, object] = api(server, operator, "POST", "/tickets", json=body)
    assert ticket["lead_unit"] == "market_regulation", ticket
    return ticket


def success(page: Page) -> None:
    """Wait for the success message, and for it to go."""
    expect(page.locator(".el-message--success").last).to_be_visible()
    page.locator(".el-message--success").last.wait_for(state="detached", timeout=10_000)


def call_row(page: Page, whistle: int, unit: str) -> Locator:
    """The row of one called department on a whistle's card."""
    card = page.locator(f'[data-whistle="{whistle}"]')
    return card.locator("tbody tr", has=page.locator(f'[data-call="{unit}"]'))


def test_a_whistle_an_evaluation_and_the_scorecard_through_the_console(
    server: LiveServer, person: Callable[..., Person], contexts: Callable[[], BrowserContext]
) -> None:
    operator = person("王接线", "wang", Role.OPERATOR)
    market = person("李经办", "li.market", Role.UNIT_HANDLER, "market_regulation")
    anting = person("安亭街镇", "anting", Role.SUBDISTRICT, "anting")
    boss = person("区营商办", "boss", Role.SUPERVISOR)
    ticket = appeal(server, operator, 1)
    assert ticket["subdistrict"] == "anting"
    api(server, boss, "POST", "/evaluation-periods", json={"period": MONTH})

    # 辖区诉求: the 街镇 finds the ticket in its area and blows the whistle on it.
    town = contexts().new_page()
    sign_in(town, server, anting.login)
    town.wait_for_url("**/area")
    town.locator('[data-tab="area"]').click()
    line = row(town, "area-table", int(str(ticket["id"])))
    expect(line).to_contain_text("区市场监管局")
    shoot(town, "part2-area")
    line.locator(".el-checkbox").click()
    town.locator('[data-test="whistle-picked"]').click()
    town.wait_for_url("**/whistles?**")
    dialog = town.locator('[data-test="raise-dialog"]')
    expect(dialog).to_contain_text(f"工单 {ticket['id']}")
    dialog.locator(".el-select").first.click()
    town.locator(".el-select-dropdown__item:visible", has_text="区市场监管局").click()
    town.keyboard.press("Escape")
    town.locator('textarea[data-test="raise-text"]').fill(
        "企业营业执照变更卡在审核环节，请区市场监管局到现场与企业一起核对材料。"
    )
    shoot(town, "part2-whistle-raise")
    town.locator('[data-test="raise-submit"]').click()
    success(town)
    whistles = api(server, anting, "GET", "/whistles")
    whistle = whistles[0]["id"]
    assert whistles[0]["ticket_ids"] == [ticket["id"]]
    expect(call_row(town, whistle, "market_regulation")).to_contain_text("待报到")

    # The department sees the whistle from its workbench, reports in (报到) and answers.
    unit = contexts().new_page()
    sign_in(unit, server, market.login)
    unit.wait_for_url("**/workbench")
    expect(unit.locator('[data-test="whistle-calls"]')).to_contain_text("待报到 1 件")
    unit.locator('[data-test="to-whistles"]').click()
    unit.wait_for_url("**/whistles")
    call_row(unit, whistle, "market_regulation").locator('[data-action="report"]').click()
    unit.locator('input[data-field="contact"]').fill("张科长 59990000")
    unit.locator('textarea[data-field="plan"]').fill("明日上午到企业现场核对变更材料")
    unit.locator('[data-test="call-submit"]').click()
    success(unit)
    call_row(unit, whistle, "market_regulation").locator('[data-action="outcome"]').click()
    unit.locator('textarea[data-field="content"]').fill("已现场核对，变更登记当日办结")
    unit.locator('[data-test="call-submit"]').click()
    success(unit)
    expect(call_row(unit, whistle, "market_regulation")).to_contain_text("已反馈结果")
    shoot(unit, "part2-whistle-department")

    # The 街镇 confirms the outcome.
    town.reload()
    call_row(town, whistle, "market_regulation").locator('[data-action="confirm"]').click()
    success(town)
    expect(call_row(town, whistle, "market_regulation")).to_contain_text("已确认")
    expect(town.locator(f'[data-whistle="{whistle}"]')).to_contain_text("已办结")
    shoot(town, "part2-whistle-confirmed")

    # 反向评价: the department is on the to-do list for the ticket and the whistle.
    town.goto(f"{server.url}/evaluations")
    todo = town.locator(
        '[data-test="todo"] tbody tr', has=town.locator('[data-unit="market_regulation"]')
    )
    expect(todo).to_contain_text("共同办理工单 1 件")
    expect(todo).to_contain_text("吹哨 1 次")
    todo.locator('[data-action="evaluate"]').click()
    form = town.locator('[data-test="evaluation-dialog"]')
    for k in range(3):  # 响应及时, 解决实效, 协同配合
        form.locator(".el-rate").nth(k).locator(".el-rate__item").nth(3).click()  # 4 分
    form.locator('textarea[data-test="comment"]').fill("响应及时，现场核查到位")
    town.locator('[data-test="save-evaluation"]').click()
    success(town)
    expect(todo).to_contain_text("响应及时，现场核查到位")
    # Edited while the period is open.
    todo.locator('[data-action="evaluate"]').click()
    form.locator(".el-rate").nth(2).locator(".el-rate__item").nth(4).click()  # 协同配合 5 分
    form.locator('textarea[data-test="comment"]').fill("响应及时，现场核查到位，当日办结")
    shoot(town, "part2-evaluation-form")
    town.locator('[data-test="save-evaluation"]').click()
    success(town)
    expect(todo).to_contain_text("当日办结")
    mine = api(server, anting, "GET", "/evaluations", params={"period": MONTH})
    assert [(e["timeliness"], e["cooperation"]) for e in mine] == [(4, 5)]

    # Two more 街镇 who worked with the department evaluate it (three voices are shown).
    for code, said in (("malu", "还需加快"), ("nanxiang", "沟通顺畅")):
        other = person(f"{code}街镇", code, Role.SUBDISTRICT, code)
        api(
            server,
            other,
            "POST",
            "/whistles",
            json={"units": ["market_regulation"], "text": "请协助核查企业诉求"},
        )
        scores = {"timeliness": 3, "effectiveness": 3, "cooperation": 3}
        body = {
            "period": MONTH,
            "unit": "market_regulation",
            "comment": said,
            **scores,
        }
        api(server, other, "POST", "/evaluations", json=body)

    # The supervisor closes the period; the form turns read-only.
    office = contexts().new_page()
    sign_in(office, server, boss.login)
    office.goto(f"{server.url}/admin/periods")
    office.locator(f'[data-close="{MONTH}"]').click()
    office.locator(".el-message-box__btns .el-button--primary").click()
    success(office)
    expect(office.locator(f'[data-period-status="{MONTH}"]')).to_contain_text("已关闭")
    shoot(office, "part2-periods")
    town.reload()
    expect(town.locator('[data-test="period-status"]')).to_contain_text("已关闭")
    todo.locator('[data-action="view"]').click()
    expect(form.locator('[data-test="read-only"]')).to_be_visible()
    expect(town.locator('[data-test="save-evaluation"]')).to_have_count(0)
    expect(form.locator('textarea[data-test="comment"]')).to_be_disabled()
    shoot(town, "part2-evaluation-closed")
    refused = httpx.patch(
        f"{server.url}/api/v1/evaluations/{mine[0]['id']}",
        json={"timeliness": 1},
        headers=anting.headers,
    )
    assert refused.status_code == 409 and "已关闭" in refused.json()["detail"]

    # The department reads what was said about it, never by whom.
    unit.goto(f"{server.url}/scorecard")
    comments = unit.locator('[data-test="comments"]')
    expect(comments).to_contain_text("响应及时，现场核查到位，当日办结")
    expect(comments).to_contain_text("还需加快")
    expect(comments).to_contain_text("沟通顺畅")
    card = unit.locator('[data-test="scorecard"]')
    expect(card).to_contain_text("区市场监管局")
    for author in ("安亭", "anting", "马陆", "malu", "南翔", "nanxiang"):
        expect(card).not_to_contain_text(author)
    shoot(unit, "part2-scorecard")

    # Navigation by role: the department may not open the dashboard, nor its data.
    unit.goto(f"{server.url}/dashboard")
    unit.wait_for_url("**/workbench")
    expect(unit.locator(".el-message--warning")).to_contain_text("不对您的角色开放")
    assert unit.request.get(f"{server.url}/api/v1/dashboard/volume").status == 403


def test_supervision_the_dashboard_and_the_ranking_through_the_console(
    server: LiveServer,
    person: Callable[..., Person],
    contexts: Callable[[], BrowserContext],
    tmp_path: Path,
) -> None:
    operator = person("王接线", "wang", Role.OPERATOR)
    market = person("李经办", "li.market", Role.UNIT_HANDLER, "market_regulation")
    boss = person("区营商办", "boss", Role.SUPERVISOR)
    # Three enterprises raise the same matter: a 一类事 cluster of one lead unit.
    tickets = [appeal(server, operator, n) for n in (11, 12, 13)]
    first = tickets[0]
    api(server, market, "POST", f"/tickets/{first['id']}/acknowledge", json={})
    extension = {"days": 3, "reason": "需现场核查企业材料"}
    api(server, market, "POST", f"/tickets/{first['id']}/request-extension", json=extension)
    api(server, boss, "POST", "/evaluation-periods", json={"period": MONTH})

    # 督办: the extension request is approved from the list.
    office = contexts().new_page()
    sign_in(office, server, boss.login)
    office.wait_for_url("**/supervise")
    office.locator('[data-tab="extension"]').click()
    office.wait_for_url("**tab=extension**")
    line = row(office, "supervise-table", int(str(first["id"])))
    expect(line).to_contain_text("申请延期 3 个工作日")
    shoot(office, "part2-supervise")
    act(
        office,
        "supervise-table",
        int(str(first["id"])),
        "approve-extension",
        备注="同意延期三个工作日",
    )
    expect(office.locator('[data-test="supervise-table"]')).to_contain_text("暂无工单")
    after = api(server, boss, "GET", f"/tickets/{first['id']}")
    assert after["extension_days"] == 3 and after["extension_requested_days"] is None

    # The district at a glance: the cluster's bar opens the cluster and reaches its tickets.
    received = str(tickets[0]["received_at"])[:7]
    office.goto(f"{server.url}/dashboard?month={received}")
    expect(office.locator('[data-test="repeats"]')).to_contain_text("一类事 1 组")
    office.locator('[data-chart="clusters"] canvas').first.wait_for()
    shoot(office, "part2-dashboard")
    chart = office.locator('[data-chart="clusters"]')
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert box is not None
    office.mouse.click(box["x"] + 140, box["y"] + box["height"] / 2)
    dialog = office.locator('[data-test="cluster-dialog"]')
    expect(dialog).to_contain_text("3 件")
    for t in tickets:
        expect(dialog.locator(f'[data-cluster-ticket="{t["id"]}"]')).to_be_visible()
    shoot(office, "part2-cluster")
    dialog.locator(f'[data-cluster-ticket="{tickets[1]["id"]}"]').click()
    office.wait_for_url(f"**/tickets/{tickets[1]['id']}")
    expect(office.locator('[data-test="ticket-title"]')).to_be_visible()

    # 晾晒: the ranking, and its XLSX export opened and read.
    office.goto(f"{server.url}/ranking?period={MONTH}")
    expect(office.locator('[data-test="ranking"]')).to_contain_text("区市场监管局")
    shoot(office, "part2-ranking")
    with office.expect_download() as download:
        office.locator('[data-test="export-xlsx"]').click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"qisu-ranking-{MONTH}.xlsx"
    sheet = load_workbook(saved).active
    header = next(sheet.iter_rows(values_only=True))
    assert header[:4] == ("排名", "单位", "单位代码", "综合得分") and "满意率" in header
    units = [r[2] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert "market_regulation" in units and len(units) == 27


def test_an_administrator_deactivates_a_user_whose_open_session_is_then_refused(
    server: LiveServer, person: Callable[..., Person], contexts: Callable[[], BrowserContext]
) -> None:
    admin = person("系统管理员", "admin", Role.ADMIN)
    market = person("李经办", "li.market", Role.UNIT_HANDLER, "market_regulation")
    unit = contexts().new_page()
    sign_in(unit, server, market.login)
    unit.wait_for_url("**/workbench")

    office = contexts().new_page()
    sign_in(office, server, admin.login)
    office.goto(f"{server.url}/admin/users")
    users = office.locator('[data-test="users"]')
    expect(users).to_contain_text("李经办")
    # A new user with a role and a unit.
    office.locator('[data-test="new-user"]').click()
    dialog = office.locator('[data-test="user-dialog"]')
    dialog.get_by_label("姓名").fill("赵街镇")
    dialog.get_by_label("登录名").fill("zhao.malu")
    dialog.locator(".el-select").first.click()
    office.locator(".el-select-dropdown__item:visible", has_text="街镇经办人").click()
    dialog.locator(".el-select").nth(1).click()
    office.locator(".el-select-dropdown__item:visible", has_text="马陆镇").click()
    dialog.get_by_label("初始密码").fill("Zhao-malu-2026!")
    office.locator('[data-test="create-user"]').click()
    success(office)
    expect(users).to_contain_text("赵街镇")
    shoot(office, "part2-users")
    # Deactivation takes effect at once: the department's open session is refused.
    office.locator('[data-deactivate="li.market"]').click()
    office.locator(".el-message-box__btns .el-button--primary").click()
    success(office)
    expect(office.locator('[data-user-state="li.market"]')).to_contain_text("已停用")
    unit.locator('[data-tab="doing"]').click()
    unit.wait_for_url("**/login**")
    refused = httpx.get(f"{server.url}/api/v1/tickets", headers=market.headers)
    assert refused.status_code == 401
    sign_in_again = unit.request.post(
        f"{server.url}/api/v1/session", data={"login": market.login, "password": "Qisu-test-2026"}
    )
    assert sign_in_again.status >= 400


def test_the_units_and_models_pages_for_an_administrator(
    server: LiveServer, person: Callable[..., Person], contexts: Callable[[], BrowserContext]
) -> None:
    admin = person("系统管理员", "admin", Role.ADMIN)
    office = contexts().new_page()
    sign_in(office, server, admin.login)
    office.goto(f"{server.url}/admin/units")
    expect(office.locator('[data-test="units"]')).to_contain_text("区市场监管局")
    shoot(office, "part2-units")
    office.goto(f"{server.url}/admin/models")
    expect(office.locator('[data-test="models"]')).to_contain_text("使用中")
    shoot(office, "part2-models")
