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
