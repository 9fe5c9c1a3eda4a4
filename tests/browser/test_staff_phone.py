"""A caseworker on a phone: the claims table stacks with each value labelled, and a donor's number is one tap to call."""

import pytest
from playwright.sync_api import expect

from core.models import Role
from tests.factories import PASSWORD, claim, make_child, make_user, make_wish

pytestmark = pytest.mark.browser


def test_the_claims_table_keeps_its_labels_and_numbers_call_on_a_phone(phone_page, live_server, db):
    caseworker = make_user(Role.CASEWORKER, email="cw-phone@example.org")
    wish = make_wish(child=make_child(caseworker), title="一个篮球")
    claim(wish, contact="13912345678", name="周先生")

    phone_page.goto("/login")
    phone_page.get_by_label("电子邮箱").fill("cw-phone@example.org")
    phone_page.get_by_label("密码").fill(PASSWORD)
    phone_page.get_by_role("button", name="登录").click()
    phone_page.goto("/staff/claims")

    row = phone_page.locator("table.table tbody tr").first
    cells = row.locator("td")
    labels = [cells.nth(i).get_attribute("data-label") for i in range(cells.count())]
    # Every column but the buttons' has a name.
    assert all(labels[:-1]), labels
    call = row.get_by_role("link", name="13912345678")
    expect(call).to_have_attribute("href", "tel:+8613912345678")
    # Stacked: the header row is hidden and the cell shows its label before its value.
    expect(phone_page.locator("table.table thead")).to_be_hidden()
    before = call.locator("xpath=..").evaluate("td => getComputedStyle(td, '::before').content")
    assert "联系方式" in before
