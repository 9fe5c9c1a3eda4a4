"""A supervisor signs in, returns a wish that names the child, publishes a clean one, and cannot vet their own."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.models import Role
from tests.browser.helpers import assert_no_horizontal_scroll, reading
from tests.factories import PASSWORD, make_child, make_user, make_wish
from wishes.models import Wish, WishStatus

pytestmark = pytest.mark.browser

LEAKY_TITLE = "一辆上学用的自行车"
LEAKY_STORY = "张小花每天要走四十分钟去上学，妈妈说有事可以打13987654321联系她。"
CLEAN_TITLE = "一盒二十四色水彩笔"
RETURN_REASON = "故事里有孩子的真实姓名和妈妈的电话，请删去后再提交。"


def sign_in(page, user) -> None:
    page.goto("/login")
    form = page.locator("form[action='/login']")
    form.locator("input[name=email]").fill(user.email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/staff/")


def test_supervisor_returns_a_wish_naming_the_child_and_publishes_a_clean_one(page, db, snap):
    caseworker = make_user(Role.CASEWORKER)
    supervisor = make_user(Role.SUPERVISOR, email="du.dao@example.org", name="杜督导")
    leaky = make_wish(
        WishStatus.SUBMITTED,
        child=make_child(caseworker, legal_name="张小花", alias="花花", guardian_name="李秀英"),
        title=LEAKY_TITLE,
        story=LEAKY_STORY,
        category="other",
    )
    clean = make_wish(
        WishStatus.SUBMITTED,
        child=make_child(caseworker, legal_name="刘晨阳", alias="小树"),
        title=CLEAN_TITLE,
        story="小树喜欢画画，想要一盒二十四色的水彩笔，画出家门口的小河和稻田。",
        category="study",
    )
    with reading(db):
        leaky_id, clean_id = leaky.id, clean.id

    sign_in(page, supervisor)
    page.locator("main a[href='/staff/vetting']").click()
    page.wait_for_url("**/staff/vetting")
    expect(page.locator(f"a[href='/staff/vetting/{leaky_id}']")).to_have_text(LEAKY_TITLE)
    expect(page.locator(f"a[href='/staff/vetting/{clean_id}']")).to_have_text(CLEAN_TITLE)
    snap(page, "queue")

    # The wish that names the child: the warnings list says what and where.
    page.locator(f"a[href='/staff/vetting/{leaky_id}']").click()
    page.wait_for_url(f"**/staff/vetting/{leaky_id}")
    warnings = page.locator("aside.warnings[role=alert] li")
    expect(warnings.filter(has_text="张小花")).to_have_count(1)
    expect(warnings.filter(has_text="13987654321")).to_have_count(1)
    approve = page.locator(f"form[action='/staff/wishes/{leaky_id}/approve']")
    expect(approve).to_be_visible()
    # Approving flagged text takes a ticked acknowledgement and a reason; the browser asks for both.
    expect(approve.locator("input[type=checkbox][name=acknowledge][required]")).to_be_visible()
    expect(approve.locator("textarea[name=acknowledged_reason][required]")).to_be_visible()
    snap(page, "leaky")
    returned = page.locator(f"form[action='/staff/wishes/{leaky_id}/reject']")
    returned.locator("textarea[name=reason]").fill(RETURN_REASON)
    returned.locator("button[type=submit]").click()
    page.wait_for_url("**/staff/vetting")
    expect(page.locator(".flash-success[role=status]")).to_be_visible()
    expect(page.locator(f"a[href='/staff/vetting/{leaky_id}']")).to_have_count(0)
    with reading(db):
        wish = db.session.get(Wish, leaky_id)
        assert (wish.status, wish.reject_reason, wish.vetted_by_id) == (
            WishStatus.REJECTED,
            RETURN_REASON,
            supervisor.id,
        )

    # The clean wish: nothing flagged, approved, and on the public list at once.
    page.locator(f"a[href='/staff/vetting/{clean_id}']").click()
    page.wait_for_url(f"**/staff/vetting/{clean_id}")
    expect(page.locator("aside.warnings.clean[role=status]")).to_be_visible()
    expect(page.locator("aside.warnings li")).to_have_count(0)
    approve = page.locator(f"form[action='/staff/wishes/{clean_id}/approve']")
    approve.locator("input[name=note]").fill("文字已核对")
    approve.locator("button[type=submit]").click()
    page.wait_for_url("**/staff/vetting")
    expect(page.locator("a[href^='/staff/vetting/']")).to_have_count(0)
    with reading(db):
        wish = db.session.get(Wish, clean_id)
        assert (wish.status, wish.vetted_by_id) == (WishStatus.PUBLISHED, supervisor.id)
        public_id = wish.public_id

    page.goto("/wishes")
    card = page.locator("article.wish-card").filter(has_text=CLEAN_TITLE)
    expect(card).to_have_count(1)
    expect(card.locator(f"a[href='/wishes/{public_id}']")).to_contain_text("小树")
    expect(page.locator("article.wish-card").filter(has_text=LEAKY_TITLE)).to_have_count(0)


def test_supervisors_own_draft_must_be_vetted_by_another_supervisor(phone_page, db, snap):
    both = make_user(Role.CASEWORKER, Role.SUPERVISOR, email="jian.ren@example.org")
    wish = make_wish(WishStatus.SUBMITTED, child=make_child(both, alias="小麦"), title="一本新华字典")
    with reading(db):
        wish_id = wish.id
    page = phone_page

    sign_in(page, both)
    page.goto("/staff/vetting")
    expect(page.locator(f"a[href='/staff/vetting/{wish_id}']")).to_have_text("一本新华字典")
    assert_no_horizontal_scroll(page)
    page.locator(f"a[href='/staff/vetting/{wish_id}']").tap()
    page.wait_for_url(f"**/staff/vetting/{wish_id}")
    expect(page.locator("p.notice.error")).to_be_visible()
    expect(page.locator(f"form[action='/staff/wishes/{wish_id}/approve']")).to_have_count(0)
    expect(page.locator(f"form[action='/staff/wishes/{wish_id}/reject']")).to_have_count(0)
    assert_no_horizontal_scroll(page)
    snap(page, "own-draft")

    # Nor does the wish's own page offer to vet it.
    page.goto(f"/staff/wishes/{wish_id}")
    expect(page.locator("h1")).to_contain_text("一本新华字典")
    expect(page.locator(f"a[href='/staff/vetting/{wish_id}']")).to_have_count(0)

    # A hand-made POST with a valid CSRF token is refused by the server as well.
    token = page.locator("form[action='/logout'] input[name=csrf_token]").input_value()
    response = page.request.post(f"/staff/wishes/{wish_id}/approve", form={"csrf_token": token})
    assert response.ok
    with reading(db):
        assert db.session.scalar(select(Wish.status).where(Wish.id == wish_id)) == WishStatus.SUBMITTED


def test_the_queue_marks_the_wish_with_personal_data_on_a_phone(phone_page, db):
    caseworker = make_user(Role.CASEWORKER)
    supervisor = make_user(Role.SUPERVISOR, email="queue.phone@example.org")
    make_wish(
        WishStatus.SUBMITTED,
        child=make_child(caseworker, legal_name="张小花", alias="花花"),
        title=LEAKY_TITLE,
        story=LEAKY_STORY,
        category="other",
    )
    make_wish(WishStatus.SUBMITTED, child=make_child(caseworker), title=CLEAN_TITLE, category="study")

    sign_in(phone_page, supervisor)
    phone_page.goto("/staff/vetting")

    leaky_row = phone_page.locator("tbody tr", has_text=LEAKY_TITLE)
    clean_row = phone_page.locator("tbody tr", has_text=CLEAN_TITLE)
    expect(leaky_row.locator(".badge.warning")).to_be_visible()
    expect(leaky_row).to_contain_text("电话号码")
    expect(clean_row.locator(".badge.warning")).to_have_count(0)
    expect(clean_row).to_contain_text("未发现")
    # Kinds of data, never the values, and each cell labelled when the table stacks.
    expect(leaky_row).not_to_contain_text("13987654321")
    assert leaky_row.locator("td").last.get_attribute("data-label") == "个人信息"
    assert_no_horizontal_scroll(phone_page)
