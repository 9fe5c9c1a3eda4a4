"""Under the strict Content-Security-Policy the pages still work: the poster prints, the private link selects itself.

Every browser test also fails if the policy blocked anything on a page it opened (conftest.py).
"""

import pytest
from playwright.sync_api import expect

from tests.factories import claim, make_wish
from wishes.models import WishStatus

pytestmark = pytest.mark.browser


def test_the_poster_is_styled_and_its_print_button_prints(page, live_server, db):
    wish = make_wish(WishStatus.PUBLISHED, title="一双运动鞋")
    db.session.commit()
    page.add_init_script("window.print = () => { window.__printed = (window.__printed || 0) + 1; };")

    page.goto(f"/posters/wish/{wish.public_id}?size=a5")

    expect(page.get_by_role("heading", name="一双运动鞋")).to_be_visible()
    # The A5 layout comes from the site's own stylesheet: 148 mm is about 559 CSS pixels.
    assert 540 < page.locator("main.poster").evaluate("e => parseFloat(getComputedStyle(e).maxWidth)") < 580
    page.get_by_role("button", name="打印").click()
    assert page.evaluate("window.__printed") == 1


def test_the_private_link_selects_itself_when_tapped(phone_page, live_server, db):
    wish = make_wish(WishStatus.PUBLISHED)
    _claim, token = claim(wish)

    phone_page.goto(f"/claims/manage/{token}")
    link = phone_page.locator("input.copy")
    link.tap()

    selected = link.evaluate("e => e.value.substring(e.selectionStart, e.selectionEnd)")
    assert selected.endswith(f"/claims/manage/{token}")
