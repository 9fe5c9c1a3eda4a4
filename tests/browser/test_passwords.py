"""A donor who forgot the password asks for a link on a phone, sets a new password through it, then changes it."""

import re

import pytest
from playwright.sync_api import expect

from core.models import Role
from core.outbox import deliver_pending
from tests.browser.helpers import assert_no_horizontal_scroll, reading
from tests.factories import PASSWORD, make_user
from tests.smtp_server import SMTPServer, text_of

pytestmark = pytest.mark.browser

NEW = "zhou-new-password-2026"
NEWER = "zhou-newer-password-2026"


@pytest.fixture
def mailbox(browser_app):
    """A real SMTP server the site's mail goes to, as `deliver-mail` would send it."""
    with SMTPServer() as server:
        saved = {k: browser_app.config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT")}
        browser_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
        try:
            yield server
        finally:
            browser_app.config.update(saved)


def _reset_link(browser_app, mailbox, email) -> str:
    """The link in the newest reset mail the SMTP server received for this address."""
    with browser_app.app_context():
        deliver_pending()
    messages = [m for m in mailbox.to(email) if "/password/reset/" in text_of(m)]
    return re.search(r"https?://\S+/password/reset/\S+", text_of(messages[-1])).group(0)


def _sign_in(page, email, password) -> None:
    page.goto("/login")
    form = page.locator("form[action='/login']")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()


def test_forgot_password_link_sets_a_new_one_and_the_top_bar_changes_it(
    new_context, phone_page, db, snap, browser_app, mailbox
):
    donor = make_user(Role.DONOR, email="zhou.reset@example.org", name="周先生")
    with reading(db):
        email = donor.email
    page = phone_page

    page.goto("/login")
    page.get_by_role("link", name="忘记密码？").click()
    page.wait_for_url("**/password/forgot")
    assert_no_horizontal_scroll(page)
    page.locator("input[name=email]").fill(email)
    page.get_by_role("button", name="发送链接").click()
    page.wait_for_url("**/password/forgot/sent")
    expect(page.locator("main")).to_contain_text("如果该地址有账户")
    snap(page, "sent")

    # The link from the mail: two different passwords are refused, two equal ones set it and sign in.
    page.goto(_reset_link(browser_app, mailbox, email))
    assert_no_horizontal_scroll(page)
    page.locator("input[name=password]").fill(NEW)
    page.locator("input[name=confirm]").fill("something-else-entirely")
    page.get_by_role("button", name="设置新密码").click()
    expect(page.locator("p.error")).to_contain_text("两次输入的密码不一致")
    page.locator("input[name=password]").fill(NEW)
    page.locator("input[name=confirm]").fill(NEW)
    page.get_by_role("button", name="设置新密码").click()
    page.wait_for_url("**/me/claims")
    expect(page.locator(".flash-success")).to_contain_text("新密码已设置")
    snap(page, "signed-in")

    # The link is spent.
    page.goto(_reset_link(browser_app, mailbox, email))
    page.wait_for_url("**/password/forgot")
    expect(page.locator(".flash-error")).to_contain_text("此链接已被使用或已失效")

    # The top bar leads to the password page; a wrong current password is refused.
    page.locator("header .nav").get_by_role("link", name="密码").click()
    page.wait_for_url("**/account/password")
    assert_no_horizontal_scroll(page)
    page.locator("input[name=current_password]").fill(PASSWORD)
    page.locator("input[name=password]").fill(NEWER)
    page.locator("input[name=confirm]").fill(NEWER)
    page.get_by_role("button", name="修改密码").click()
    expect(page.locator("p.error")).to_contain_text("当前密码不正确")
    page.locator("input[name=current_password]").fill(NEW)
    page.locator("input[name=password]").fill(NEWER)
    page.locator("input[name=confirm]").fill(NEWER)
    page.get_by_role("button", name="修改密码").click()
    page.wait_for_url("**/me/claims")
    expect(page.locator(".flash-success")).to_contain_text("您的密码已更改")

    # Signed out, only the newest password opens the account.
    page.locator("header .nav").get_by_role("button", name="退出").click()
    other = new_context(phone=True).new_page()
    _sign_in(other, email, NEW)
    expect(other.locator("p.error")).to_be_visible()
    _sign_in(other, email, NEWER)
    other.wait_for_url("**/me/claims")
