"""On a phone: a volunteer logs a contact from the private link; a donor asks for more time from a reminder."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.clock import local_today
from reminders import pairings
from reminders.models import PairingContact
from reminders.services import claim_link
from tests.browser.helpers import assert_no_horizontal_scroll, reading
from tests.factories import claim, make_child, make_wish
from wishes.models import Claim

pytestmark = pytest.mark.browser


def test_a_volunteer_logs_a_visit_on_a_phone(new_context, live_server, db):
    child = make_child(alias="小禾苗")
    start = local_today() - timedelta(days=40)
    pairing = pairings.create_pairing(
        child.caseworker, child, pairings.PairingInput("李党员", "li@example.org", "zh_CN", start)
    )
    db.session.commit()
    path = pairings.volunteer_link(pairing).replace("http://localhost", "")
    page = new_context(phone=True).new_page()
    page.goto(path)
    expect(page.locator("h1")).to_contain_text("小禾苗")
    assert "李小明" not in page.content()
    assert_no_horizontal_scroll(page)
    page.get_by_label(re.compile("走访")).check()
    page.get_by_role("textbox", name=re.compile("备注")).fill("上门看望，带去一本书")
    page.get_by_role("button", name="记录").click()
    expect(page.locator(".flash")).to_contain_text("联系已记录")
    expect(page.locator(".contacts")).to_contain_text("走访")
    with reading(db) as session:
        contact = session.scalar(select(PairingContact).where(PairingContact.pairing_id == pairing.id))
        assert contact.kind == "visit" and contact.note == "上门看望，带去一本书"


def test_a_donor_asks_for_more_time_from_the_reminder_on_a_phone(new_context, live_server, db):
    wish = make_wish(needed_by=local_today() + timedelta(days=40))
    c, _token = claim(wish)
    due = c.due_at
    path = claim_link(c).replace("http://localhost", "")
    page = new_context(phone=True).new_page()
    page.goto(path)
    expect(page.locator("h1")).to_contain_text(wish.title)
    assert_no_horizontal_scroll(page)
    page.get_by_role("button", name="我需要更多时间").click()
    expect(page.locator(".flash")).to_be_visible()
    expect(page.get_by_role("button", name="我需要更多时间")).to_have_count(0)
    with reading(db) as session:
        assert session.get(Claim, c.id).due_at > due
