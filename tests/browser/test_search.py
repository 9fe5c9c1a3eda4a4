"""A donor on a phone searches for a two-character word and finds the wish."""

import pytest
from playwright.sync_api import expect

from tests.factories import make_wish

pytestmark = pytest.mark.browser


def test_a_phone_finds_a_wish_by_a_two_character_word(phone_page, live_server, db):
    make_wish(title="一双新球鞋", story="体育课上想穿一双合脚的新球鞋。")
    make_wish(title="一盒彩色铅笔", story="她从小就非常喜欢画画。")

    phone_page.goto("/")
    phone_page.get_by_role("searchbox", name="搜索").fill("球鞋")
    phone_page.get_by_role("searchbox", name="搜索").press("Enter")

    expect(phone_page.get_by_text("一双新球鞋")).to_be_visible()
    expect(phone_page.get_by_text("一盒彩色铅笔")).to_have_count(0)
    assert "q=%E7%90%83%E9%9E%8B" in phone_page.url


def test_every_public_page_type_offers_its_share_data_and_button(page, live_server, db):
    from core.models import Role
    from funds import services
    from tests.factories import make_fund, make_user

    admin = make_user(Role.FUND_ADMIN)
    fund = make_fund()
    project = services.create_project(
        admin, services.ProjectInput("reading-corner", "阅读角", fund.slug, 100_000, 300, "梁溪区")
    )
    campaign = services.create_campaign(
        admin, services.CampaignInput("registry", "婚姻登记处", fund.slug, kind="couple", presets=[5200])
    )
    wish = make_wish(title="一双新球鞋", story="体育课上想穿一双合脚的新球鞋。")
    for path, title in (
        (f"/wishes/{wish.public_id}", "一双新球鞋"),
        (f"/funds/{fund.slug}", fund.name),
        (f"/projects/{project.slug}", "阅读角"),
        (f"/campaigns/{campaign.slug}", "婚姻登记处"),
    ):
        page.goto(path)
        assert title in page.locator("meta[property='og:title']").get_attribute("content")
        image = page.locator("meta[property='og:image']").get_attribute("content")
        assert image.startswith("http")
        # The share button shows where the browser can share or copy.
        share = page.locator("[data-share]")
        expect(share).to_be_visible()
        assert share.get_attribute("data-share-url").startswith("http")
