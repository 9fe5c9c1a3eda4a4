"""The first screen on a phone says what this is, how many wishes wait and came true, and the way in;
and the pages people use are photographed at phone and desktop sizes for a reviewer (test-artifacts/screens/)."""

import pytest
from playwright.sync_api import expect

from core.models import Role
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import assert_no_horizontal_scroll
from tests.factories import PASSWORD, claim, make_child, make_user, make_wish
from wishes.models import WishStatus

pytestmark = pytest.mark.browser

SCREENS = ARTIFACTS / "screens"
DESKTOP_WIDE = {"viewport": {"width": 1440, "height": 900}}


def _world():
    caseworker = make_user(Role.CASEWORKER, email="cw@example.org", name="王老师")
    north = make_child(caseworker, alias="小石头", district="崂山区", street="王哥庄街道")
    south = make_child(caseworker, alias="小雨点", district="梁溪区", street="江海街道")
    make_wish(child=north, title="一双新球鞋", story="体育课上想穿一双合脚的新球鞋。")
    make_wish(child=south, title="一盒彩色铅笔", story="她从小就非常喜欢画画，想要彩铅。")
    make_wish(WishStatus.FULFILLED, child=south, title="一本新华字典", story="查字词总要借同学的字典。")
    taken = make_wish(child=north, title="一个篮球", story="课间最喜欢和同学打篮球。")
    _claim, token = claim(taken)
    return caseworker, taken, token


def test_the_first_phone_screen_shows_what_this_is_the_counts_and_the_way_in(phone_page, live_server, db):
    _world()

    phone_page.goto("/")

    hero = phone_page.locator(".hero")
    expect(hero.locator("h1")).to_be_visible()
    expect(hero.locator(".hero-counts")).to_contain_text("2")
    expect(hero.get_by_role("searchbox")).to_be_in_viewport()
    expect(hero.get_by_role("link", name="崂山区")).to_be_in_viewport()
    # The filters are folded away until asked for.
    expect(phone_page.locator(".more-filters select[name=category]")).to_be_hidden()
    hero.get_by_role("link", name="崂山区").click()
    expect(phone_page.get_by_text("一双新球鞋")).to_be_visible()
    expect(phone_page.get_by_text("一盒彩色铅笔")).to_have_count(0)
    assert_no_horizontal_scroll(phone_page)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_screenshots_of_the_pages_people_use(new_context, live_server, db, size):
    caseworker, taken, token = _world()
    open_wish = make_wish(child=make_child(caseworker), title="一台护眼台灯", story="晚上写作业的桌子光线很暗。")
    context = new_context(phone=True) if size == "phone" else new_context(**DESKTOP_WIDE)
    page = context.new_page()
    SCREENS.mkdir(parents=True, exist_ok=True)
    for name, path in (
        ("home", "/"),
        ("wish", f"/wishes/{open_wish.public_id}"),
        ("manage", f"/claims/manage/{token}"),
    ):
        page.goto(path)
        if size == "phone":
            assert_no_horizontal_scroll(page)
        page.screenshot(path=SCREENS / f"{name}-{size}.png", full_page=True)
        assert (SCREENS / f"{name}-{size}.png").stat().st_size > 10_000

    page.goto("/login")
    page.get_by_label("电子邮箱").fill("cw@example.org")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{live_server.url}/staff/")
    page.screenshot(path=SCREENS / f"staff-desk-{size}.png", full_page=True)
