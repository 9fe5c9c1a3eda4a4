"""A campaign's projector screen at 1920×1080: a couple pays on a phone and the total, the count and their
names change on the screen at once, without a reload, with a flourish."""

import pytest
from playwright.sync_api import expect

from core.extensions import db as _db
from core.models import Role
from funds import donations
from funds.models import Campaign, CampaignKind
from tests.browser.conftest import ARTIFACTS
from tests.factories import make_fund, make_user

pytestmark = pytest.mark.browser

PROJECTOR = {"viewport": {"width": 1920, "height": 1080}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
SLUG = "registry-screen"


#: Couples who gave earlier, the last one just before the screen opens; with the new one the screen holds twelve.
EARLIER = [("欧阳", "司马"), ("赵", "钱"), ("孙", "李"), ("周", "吴"), ("郑", "王"), ("冯", "陈"), ("褚", "卫")]
EARLIER += [("蒋", "沈"), ("韩", "杨"), ("朱", "秦"), ("王伟", "陈静")]


def _couple_campaign_with_gifts():
    fund = make_fund(slug="screen-fund", name="溪心护童")
    campaign = Campaign(
        slug=SLUG, title="婚姻登记处爱心捐赠", kind=CampaignKind.COUPLE, fund_id=fund.id, presets=[52000]
    )
    _db.session.add(campaign)
    _db.session.flush()
    admin = make_user(Role.FUND_ADMIN)
    for name, partner in EARLIER:
        donations.record_offline(
            admin,
            donations.Target(fund, campaign=campaign),
            52000,
            donations.DonorInput(name=name + "先生", contact="13800001111", partner_name=partner + "女士"),
            "cash",
            None,
        )
    _db.session.commit()


def test_a_couples_gift_appears_on_the_open_screen_without_a_reload(db, new_context, live_server):
    _couple_campaign_with_gifts()
    screen = new_context(**PROJECTOR).new_page()
    screen.goto(f"/campaigns/{SLUG}/screen")
    expect(screen.locator("h1")).to_have_text("婚姻登记处爱心捐赠")
    expect(screen.locator("#screen-total")).to_have_text("¥5,720")
    expect(screen.locator("#screen-count")).to_have_text("11")
    expect(screen.locator("#screen-names li")).to_have_count(11)
    expect(screen.locator("#screen-names li").first).to_have_text("王** & 陈**")
    expect(screen.locator(".screen-qr img")).to_be_visible()
    assert screen.locator(".topbar, nav").count() == 0  # no site menu on the projector
    # Large type and a large QR, and nothing to scroll at 1920×1080.
    assert screen.locator("#screen-total").evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 120
    assert screen.locator(".screen-qr img").evaluate("e => e.getBoundingClientRect().width") >= 320
    sizes = screen.evaluate(
        "() => ({h: document.documentElement.scrollHeight, w: document.documentElement.scrollWidth,"
        " ih: innerHeight, iw: innerWidth})"
    )
    assert sizes["h"] <= sizes["ih"] and sizes["w"] <= sizes["iw"], sizes
    expect(screen.locator("#screen")).to_have_attribute("data-live", "1")
    screen.evaluate("() => { window.__notReloaded = true; }")

    # A couple scans the campaign's QR on a phone and pays in the simulator.
    phone = new_context(phone=True).new_page()
    phone.goto(f"/donate/campaign/{SLUG}?src=qr")
    form = phone.locator(f"form[action='/donate/campaign/{SLUG}']")
    form.locator("input[name=preset][value='52000']").check()
    form.locator("input[name=name]").fill("李明")
    form.locator("input[name=partner_name]").fill("张华")
    form.locator("input[name=contact]").fill("13912345678")
    form.locator("button[type=submit]").tap()
    phone.locator("article.simulator button[name=action][value=pay]").tap()
    expect(phone.locator("dd.receipt-no")).to_be_visible(timeout=15_000)

    expect(screen.locator("#screen-total")).to_have_text("¥6,240", timeout=2000)
    expect(screen.locator("#screen-count")).to_have_text("12")
    expect(screen.locator("#screen-names li")).to_have_count(12)
    expect(screen.locator("#screen-names li").nth(0)).to_have_text("李* & 张*")
    expect(screen.locator("#screen-names li").nth(1)).to_have_text("王** & 陈**")
    expect(screen.locator("#gift-screen")).to_have_class("overlay overlay-gift is-shown")
    expect(screen.locator("#gift-name")).to_have_text("李* & 张*")
    assert screen.evaluate("() => window.__notReloaded") is True
    page_text = screen.locator("body").inner_text()
    assert "李明" not in page_text and "13912345678" not in page_text and "王伟" not in page_text

    ARTIFACTS.mkdir(exist_ok=True)
    screen.screenshot(path=ARTIFACTS / "campaign-screen-gift-1920x1080.png")
    # The flourish passes; the screen stays as it is now.
    expect(screen.locator("#gift-screen")).not_to_have_class("overlay overlay-gift is-shown", timeout=6000)
    # Twelve names still fit: every one is inside the screen, nothing to scroll.
    assert screen.evaluate("() => document.documentElement.scrollHeight <= innerHeight")
    bottom = screen.locator("#screen-names li").last.evaluate("e => e.getBoundingClientRect().bottom")
    assert bottom <= 1080, bottom
    screen.screenshot(path=ARTIFACTS / "campaign-screen-1920x1080.png")
