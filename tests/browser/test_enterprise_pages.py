"""The enterprise channel's public pages in Chromium: submit, follow, rate, and the refusals."""

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy.engine import Engine

from models import Role
from tests.browser.conftest import Person, api, shoot, sign_in
from tests.conftest import credit_code
from tests.integration.conftest import LiveServer
from tests.routing.test_routed_intake import LICENCE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

SUBMITS_PER_ADDRESS = 3
PHONE = "13912345678"
OTHER_TEXT = "另一家企业的诉求：厂区门前道路破损，货车进出困难，请城管部门尽快修复。"


@pytest.fixture
def server(
    engine: Engine,
    tmp_path: Path,
    models_dir: Path,
    console_dist: Path,
) -> Iterator[LiveServer]:
    """`qisu serve` with a small submission limit per address, so a flood is quick to show."""
    (tmp_path / "models").symlink_to(models_dir, target_is_directory=True)
    live = LiveServer(
        engine.url.render_as_string(hide_password=False),
        tmp_path,
        QISU_WEB_DIR=str(console_dist),
        QISU_ENTERPRISE_SUBMITS_PER_ADDRESS_HOUR=str(SUBMITS_PER_ADDRESS),
    )
    live.start()
    yield live
    live.stop()


def fill_appeal(page: Page, *, code: str, name: str, phone: str, text: str) -> None:
    page.locator('input[name="credit_code"]').fill(code)
    page.locator('input[name="enterprise_name"]').fill(name)
    page.locator('input[name="contact_name"]').fill("赵经理")
    page.locator('input[name="contact_phone"]').fill(phone)
    page.locator('input[name="address"]').fill("嘉定区安亭镇墨玉路185号")
    page.locator('textarea[name="text"]').fill(text)


def follow(page: Page, receipt: str, last4: str) -> None:
    page.locator('input[name="receipt_code"]').fill(receipt)
    page.locator('input[name="phone_last4"]').fill(last4)
    page.locator('[data-test="follow"]').click()


def test_an_enterprise_submits_follows_and_rates_and_the_desk_sees_it_reopened(
    server: LiveServer, person: Callable[..., Person], contexts: Callable[[], BrowserContext]
) -> None:
    operator = person("王接线", "wang", Role.OPERATOR)
    market = person("李经办", "li.market", Role.UNIT_HANDLER, "market_regulation")
    # Another enterprise's appeal, through the same channel: the page must never show it.
    other = httpx.post(
        f"{server.url}/api/v1/enterprise/appeals",
        json={
            "credit_code": credit_code(77), "enterprise_name": "上海别家企业有限公司",
            "contact_name": "钱先生", "contact_phone": "13700009999",
            "address": "嘉定区南翔镇蕰北路8号", "appeal_type": "complaint", "text": OTHER_TEXT,
        },
        timeout=30,
    )  # fmt: skip
    assert other.status_code == 201, other.text
    other_receipt = other.json()["receipt_code"]

    page = contexts().new_page()  # no sign-in anywhere
    page.goto(f"{server.url}/enterprise")
    expect(page.get_by_role("heading", name="提交诉求")).to_be_visible()
    assert "/login" not in page.url
    # The check character is checked in the page before anything is sent.
    code = credit_code(5)
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    fill_appeal(page, code=wrong, name="上海自助企业有限公司", phone=PHONE, text=LICENCE)
    expect(page.locator('[data-test="code-problem"]')).to_contain_text("校验位错误")
    page.locator('[data-test="submit"]').click()
    expect(page.locator('[data-test="submit-problem"]')).to_contain_text("表单还有未填或填错的项目")
    shoot(page, "enterprise-bad-code")
    page.locator('input[name="credit_code"]').fill(code)
    expect(page.locator('[data-test="code-problem"]')).to_have_count(0)
    page.locator('[data-test="submit"]').click()
    receipt = page.locator('[data-test="receipt-code"]').inner_text().strip()
    assert receipt.startswith("QS") and len(receipt) == 12
    shoot(page, "enterprise-receipt")

    # Following it: a wrong phone, and another appeal's receipt with this phone, get one answer.
    page.locator('[data-test="go-follow"]').click()
    page.wait_for_url(f"**/enterprise/follow?receipt={receipt}")
    expect(page.locator('input[name="receipt_code"]')).to_have_value(receipt)
    for code_tried, last4 in ((receipt, "0000"), (other_receipt, PHONE[-4:])):
        follow(page, code_tried, last4)
        expect(page.locator('[data-test="follow-problem"]')).to_have_text(
            "回执码或手机号后四位不正确"
        )
        expect(page.locator('[data-test="appeal"]')).to_have_count(0)
    shoot(page, "enterprise-wrong-pair")
    assert OTHER_TEXT not in page.content() and "上海别家企业有限公司" not in page.content()
    follow(page, receipt, PHONE[-4:])
    expect(page.locator('[data-test="appeal"]')).to_be_visible()
    expect(page.locator('[data-test="follow-problem"]')).to_have_count(0)

    # The department works it (over the API) and replies.
    found = api(server, operator, "GET", "/tickets", params={"q": "上海自助企业有限公司"})
    assert found["count"] == 1, found
    ticket = found["items"][0]
    if ticket["status"] == "triage":
        api(server, operator, "POST", f"/tickets/{ticket['id']}/dispatch",
            json={"lead_unit": "market_regulation"})  # fmt: skip
    base = f"/tickets/{ticket['id']}"
    api(server, market, "POST", f"{base}/acknowledge", json={})
    api(server, market, "POST", f"{base}/contact", json={"note": "已电话联系企业"})
    api(server, market, "POST", f"{base}/reply", json={"content": "变更登记已于今日办结。"})

    follow(page, receipt, PHONE[-4:])
    expect(page.locator('[data-test="appeal-status"]')).to_contain_text("已答复，请评价")
    expect(page.locator('[data-test="appeal-reply"]')).to_have_text("变更登记已于今日办结。")
    expect(page.locator('[data-test="appeal-deadlines"]')).to_contain_text("按时完成")
    expect(page.locator('[data-test="appeal"]')).to_contain_text("区市场监督管理局")
    page.locator('[data-rate="unsatisfied"]').click()
    page.locator('textarea[name="note"]').fill("执照上的经营范围仍未更新")
    page.locator('[data-test="rate"]').click()
    expect(page.locator('[data-test="rated"]')).to_contain_text("已退回承办单位重新办理")
    expect(page.locator('[data-test="appeal-status"]')).to_contain_text("重办中")
    expect(page.locator('[data-test="rate"]')).to_have_count(0)
    shoot(page, "enterprise-rated")

    # The desk sees the ticket reopened, the enterprise's verdict in its timeline.
    desk = contexts().new_page()
    sign_in(desk, server, operator.login)
    desk.goto(f"{server.url}/tickets/{ticket['id']}")
    expect(desk.locator('[data-test="ticket-title"]')).to_contain_text("重办")
    expect(desk.locator('[data-test="timeline"]')).to_contain_text("企业渠道")
    expect(desk.locator('[data-test="timeline"]')).to_contain_text("执照上的经营范围仍未更新")
    shoot(desk, "enterprise-reopened-desk")
    after = api(server, operator, "GET", f"/tickets/{ticket['id']}")
    assert (after["status"], after["satisfaction"]) == ("reopened", "unsatisfied")

    # A flood from this address: the limit's next submission is refused, in Chinese.
    for n in range(SUBMITS_PER_ADDRESS - 2):  # two went already (the other appeal and ours)
        extra = httpx.post(
            f"{server.url}/api/v1/enterprise/appeals",
            json={
                "credit_code": credit_code(80 + n), "enterprise_name": f"洪水企业{n}",
                "contact_name": "孙女士", "contact_phone": f"1360000{n:04d}",
                "address": "嘉定区安亭镇", "appeal_type": "help", "text": f"第{n}件批量提交",
            },
            timeout=30,
        )  # fmt: skip
        assert extra.status_code == 201, extra.text
    page.locator('[data-test="nav-submit"]').click()
    fill_appeal(page, code=credit_code(6), name="上海洪水企业有限公司", phone=PHONE, text=LICENCE)
    page.locator('[data-test="submit"]').click()
    expect(page.locator('[data-test="submit-problem"]')).to_have_text("提交过于频繁，请稍后再试")
    expect(page.locator('[data-test="receipt"]')).to_have_count(0)
    shoot(page, "enterprise-flood")
