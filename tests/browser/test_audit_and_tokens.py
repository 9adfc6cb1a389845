"""The administrator's tokens and second-factor reset, and the auditor's log, in Chromium: a token
shown once works until it is revoked, a reset TOTP lets the password alone sign in, and the
auditor sees those records, exports them and finds an edited one by the hash chain."""

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import text
from sqlalchemy.engine import Engine

from accounts import totp
from core.db import session_scope
from core.timezone import SHANGHAI
from models import Role, utcnow
from tests.browser.conftest import PASSWORD, Person, api, shoot, sign_in
from tests.integration.conftest import LiveServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def sign_in_over_api(server: LiveServer, login: str, code: str | None = None) -> httpx.Response:
    """POST /session as the login form does, with the TOTP code when one is given."""
    body = {"login": login, "password": PASSWORD} | ({"totp": code} if code else {})
    return httpx.post(f"{server.url}/api/v1/session", json=body, timeout=30)


def enrol_totp(server: LiveServer, login: str) -> None:
    """Turn the user's second factor on over the API, as the user's own console would."""
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=30) as client:
        session = client.post("/session", json={"login": login, "password": PASSWORD})
        assert session.status_code == 200, session.text
        csrf = {"X-CSRF-Token": session.json()["csrf_token"]}
        started = client.post("/session/totp", headers=csrf)
        assert started.status_code == 200, started.text
        code = totp.code_at(started.json()["secret"], utcnow())
        confirmed = client.post("/session/totp/confirm", json={"code": code}, headers=csrf)
        assert confirmed.status_code == 204, confirmed.text


def confirm(page: Page, button: str) -> None:
    """Press the confirmation box's button (吊销, 重置)."""
    box = page.locator(".el-message-box")
    expect(box).to_be_visible()
    box.get_by_role("button", name=button).click()


def bearer(server: LiveServer, token: str) -> int:
    """The status of a request made with the bearer token alone."""
    response = httpx.get(
        f"{server.url}/api/v1/units", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return response.status_code


def test_an_admin_issues_and_revokes_a_token_and_resets_totp_and_the_auditor_sees_it(
    server: LiveServer,
    engine: Engine,
    person: Callable[..., Person],
    contexts: Callable[[], BrowserContext],
) -> None:
    admin = person("系统管理员", "admin", Role.ADMIN)
    auditor = person("审计员", "auditor", Role.AUDITOR)
    boss = person("区营商办", "boss", Role.SUPERVISOR)
    enrol_totp(server, boss.login)
    refused = sign_in_over_api(server, boss.login)
    assert (refused.status_code, refused.json()["code"]) == (401, "totp_required")

    # 用户管理 → 令牌: issue a token for the supervisor; its value is shown once.
    page = contexts().new_page()
    sign_in(page, server, admin.login)
    expect(page.locator(".shell-menu")).not_to_contain_text("审计日志")
    page.goto(f"{server.url}/admin/users")
    page.locator(f'[data-security="{boss.login}"]').click()
    dialog = page.locator('[data-test="security-dialog"]')
    expect(dialog).to_contain_text("令牌与动态口令 · 区营商办")
    # The fixture's own token (the one `boss.headers` carries) is listed, without its value.
    expect(dialog.locator('[data-token-state="初始令牌"]')).to_have_text("有效")
    assert boss.token not in page.content()
    dialog.locator('input[data-test="token-name"]').fill("市平台对接")
    dialog.locator('[data-test="token-days"] input').fill("30")
    dialog.locator('[data-test="token-issue"]').click()
    issued = page.locator('[data-test="token-issued"]')
    expect(issued).to_contain_text("令牌只显示这一次")
    value = issued.locator('input[data-test="token-value"]').input_value()
    assert len(value) >= 32, value
    shoot(page, "admin-token-issued")
    issued.locator('[data-test="token-done"]').click()
    expect(issued).to_be_hidden()
    expect(dialog.locator('[data-token-state="市平台对接"]')).to_have_text("有效")
    assert value not in page.content()  # gone with its dialog: shown once only
    listed = api(server, admin, "GET", "/admin/users")["items"]
    boss_id = next(u["id"] for u in listed if u["login"] == boss.login)
    tokens = api(server, admin, "GET", f"/admin/users/{boss_id}/tokens")
    assert [(t["name"], t["active"]) for t in tokens] == [("市平台对接", True), ("初始令牌", True)]
    assert 29 <= (datetime.fromisoformat(tokens[0]["expires_at"]) - utcnow()).days <= 30
    assert bearer(server, value) == 200

    # 吊销, after a confirmation: the same token is refused at once.
    dialog.locator('[data-revoke="市平台对接"]').click()
    confirm(page, "吊销")
    expect(page.locator(".el-message--success").last).to_contain_text("令牌“市平台对接”已吊销")
    expect(dialog.locator('[data-token-state="市平台对接"]')).to_have_text("已吊销")
    assert bearer(server, value) == 401
    assert bearer(server, boss.token) == 200  # the user's other token is untouched
    expect(dialog.locator('[data-token-state="初始令牌"]')).to_have_text("有效")

    # 重置动态口令: the supervisor signs in with the password alone again.
    dialog.locator('[data-test="totp-reset"]').click()
    confirm(page, "重置")
    expect(page.locator(".el-message--success").last).to_contain_text("已重置 区营商办 的动态口令")
    shoot(page, "admin-token-revoked-totp-reset")
    again = sign_in_over_api(server, boss.login)
    assert again.status_code == 200, again.text
    assert again.json()["user"]["second_factor"] is False

    # The auditor starts on 审计日志, the only page on the menu.
    desk = contexts().new_page()
    sign_in(desk, server, auditor.login)
    desk.wait_for_url("**/audit")
    expect(desk.locator(".shell-menu .el-menu-item")).to_have_text(["审计日志"])
    table = desk.locator('[data-test="audit-table"]')
    for action in ("token_issue", "token_revoke", "totp_reset", "totp_enrol", "sign_in"):
        expect(table.locator(f'[data-action="{action}"]').first).to_be_visible()
    expect(table).to_contain_text("签发令牌")
    # The shell asks nothing of the API that an auditor may not read (a refusal would be logged).
    expect(table.locator('[data-action="permission_refused"]')).to_have_count(0)
    expect(desk.locator(".el-message--error")).to_have_count(0)
    expect(table).to_contain_text("系统管理员")
    expect(table).to_contain_text(f"用户 #{boss_id}")
    shoot(desk, "audit-records")

    # Filter by action: the URL holds it, the table and the export follow it.
    desk.locator('[data-test="audit-action"]').click()
    desk.locator(".el-select-dropdown__item:visible", has_text="吊销令牌").click()
    desk.wait_for_url("**action=token_revoke**")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody tr")).to_contain_text("吊销令牌")
    expect(desk.locator(".el-pagination")).to_contain_text("共 1 条")
    href = desk.locator('[data-test="audit-export"]').get_attribute("href")
    assert href == "/api/v1/audit/records/export?action=token_revoke", href
    exported = desk.request.get(f"{server.url}{href}")
    assert exported.status == 200
    rows = list(csv.reader(io.StringIO(exported.body().decode("utf-8-sig"))))
    assert rows[0][:5] == ["序号", "时间", "操作人", "角色", "操作"]
    assert [(r[2], r[4], r[5]) for r in rows[1:]] == [("系统管理员", "token_revoke", "success")]

    # 校验完整性: whole, then broken once a record is edited behind the application's back.
    desk.locator('[data-test="audit-verify"]').click()
    verdict = desk.locator('[data-test="audit-verdict"]')
    expect(verdict).to_have_attribute("data-ok", "true")
    count = api_count(server, auditor)
    expect(verdict).to_contain_text(f"哈希链完整：共校验 {count} 条记录")
    shoot(desk, "audit-verified")
    with session_scope(engine, write=True) as session:
        seq = session.execute(
            text("SELECT seq FROM audit_record WHERE action = 'totp_reset'")
        ).scalar_one()
        session.execute(
            text("UPDATE audit_record SET outcome = 'failure' WHERE seq = :seq"), {"seq": seq}
        )
    desk.locator('[data-test="audit-verify"]').click()
    expect(verdict).to_have_attribute("data-ok", "false")
    expect(verdict).to_contain_text("哈希链已断裂")
    expect(desk.locator('[data-test="audit-problem"]')).to_have_text(
        [f"第 {seq} 条记录的内容与其哈希不符（被改动）"]
    )
    # Clear the filter: the edited record's row is marked in the table.
    desk.locator('[data-test="audit-action"]').hover()
    desk.locator('[data-test="audit-action"] .el-select__clear').click()
    desk.wait_for_url(lambda url: "action=" not in url)
    edited = table.locator("tbody tr.edited")
    expect(edited).to_have_count(1)
    expect(edited).to_contain_text("被改动")
    expect(edited).to_contain_text("重置动态口令")
    expect(edited.locator(f'[data-seq="{seq}"]')).to_be_visible()
    shoot(desk, "audit-broken")

    # A day range in the URL: the picker shows the last day included, the API gets the next 00:00.
    today = utcnow().astimezone(SHANGHAI).date()
    days = f"from={today}T00:00:00%2B08:00&to={today + timedelta(days=1)}T00:00:00%2B08:00"
    desk.goto(f"{server.url}/audit?{days}")
    picker = desk.locator(".day-range input")
    expect(picker.nth(0)).to_have_value(str(today))
    expect(picker.nth(1)).to_have_value(str(today))
    expect(table.locator(f'[data-seq="{seq}"]')).to_be_visible()
    later = [today + timedelta(days=n) for n in (1, 2)]
    desk.goto(f"{server.url}/audit?from={later[0]}T00:00:00%2B08:00&to={later[1]}T00:00:00%2B08:00")
    expect(table).to_contain_text("没有符合条件的记录")

    # The administrator is sent home from the auditor's page: the API refuses it either way.
    page.goto(f"{server.url}/audit")
    expect(page.locator(".el-message--warning")).to_contain_text("“审计日志”不对您的角色开放")
    page.wait_for_url("**/tickets")
    forbidden = httpx.get(f"{server.url}/api/v1/audit/records", headers=admin.headers, timeout=30)
    assert forbidden.status_code == 403


def api_count(server: LiveServer, auditor: Person) -> int:
    """How many records the chain holds, as the API's own verification counts them."""
    verified = api(server, auditor, "GET", "/audit/verify")
    assert verified["ok"] is True, verified
    return int(verified["count"])
