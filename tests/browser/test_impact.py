"""A caseworker records a school session on a phone, and the public impact report counts it."""

import pytest
from playwright.sync_api import expect

from core.models import Role
from impact.models import ServiceActivity
from tests.browser.helpers import assert_no_horizontal_scroll, reading
from tests.factories import PASSWORD, make_user
from wishes import places

pytestmark = pytest.mark.browser


def test_a_caseworker_records_an_activity_on_a_phone_and_the_public_report_shows_it(phone_page, new_context, db, snap):
    places.ensure_place("崂山区", "王哥庄街道", "港东社区")
    make_user(Role.CASEWORKER, email="cw-impact@example.org")
    db.session.commit()

    page = phone_page
    page.goto("/login")
    page.get_by_label("电子邮箱").fill("cw-impact@example.org")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto("/staff/")
    page.get_by_role("link", name="服务活动").click()
    page.get_by_role("link", name="记录活动").click()
    assert_no_horizontal_scroll(page)

    page.get_by_label("服务类型").select_option(label="进校园活动")
    page.get_by_label("区 · 街道 · 社区").select_option(label="崂山区 · 王哥庄街道 · 港东社区")
    page.get_by_label("服务儿童数").fill("38")
    page.get_by_label("服务人次").fill("41")
    # A phone number in the note is refused, and the form keeps what was typed.
    page.get_by_label("备注").fill("校园成长课堂，联系老师13912345678")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".has-error .error")).to_contain_text("电话号码")
    expect(page.get_by_label("服务人次")).to_have_value("41")
    with reading(db) as session:
        assert session.query(ServiceActivity).count() == 0

    page.get_by_label("备注").fill("校园成长课堂：防欺凌与自我保护")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".flash-success")).to_contain_text("活动已记录")
    expect(page.locator("table.activities tbody tr").first).to_contain_text("进校园活动")
    assert_no_horizontal_scroll(page)
    snap(page, "activities")

    visitor = new_context(phone=True).new_page()
    visitor.goto("/")
    visitor.get_by_role("link", name="服务成效报告").click()
    expect(visitor.locator("strong.people-served")).to_have_text("41")
    expect(visitor.locator("strong.sessions")).to_have_text("1")
    expect(visitor.locator("table.by-kind")).to_contain_text("进校园活动")
    expect(visitor.locator("table.impact-table").nth(1)).to_contain_text("崂山区")
    assert "港东社区" not in visitor.content()
    # Every chart is a picture the browser could draw.
    visitor.wait_for_load_state("load")
    widths = visitor.eval_on_selector_all("figure.chart img", "imgs => imgs.map(i => i.complete && i.naturalWidth)")
    assert len(widths) == 3 and all(widths), widths
    assert_no_horizontal_scroll(visitor)
    snap(visitor, "report")
