"""A guest on a phone finds a wish, claims it without an account, and manages the claim by its private link."""

import re
import time
from datetime import date

import pytest
from flask_babel import format_date
from playwright.sync_api import expect
from sqlalchemy import select

from core.clock import local_today
from core.models import Role
from core.outbox import Notification
from tests.browser.helpers import assert_no_horizontal_scroll, reading
from tests.factories import make_child, make_user, make_wish
from wishes.models import Claim, ClaimStatus, Wish, WishStatus

pytestmark = pytest.mark.browser

#: The child's private file: none of this may reach a public page.
PRIVATE = {
    "legal_name": "王雨涵",
    "guardian_name": "王建军",
    "guardian_phone": "13907654321",
    "address": "江海街道幸福路88号3栋201室",
    "school": "梁溪区实验小学",
    "case_no": "LX-2024-0107",
}
TITLE = "一套《十万个为什么》"


def _published_wishes(newer: int = 0):
    """The wish to claim, in 梁溪区, and `newer` wishes published after it elsewhere."""
    caseworker = make_user(Role.CASEWORKER)
    supervisor = make_user(Role.SUPERVISOR)
    today = local_today()
    child = make_child(
        caseworker,
        alias="小雨点",
        birth_date=date(today.year - 9, 1, 1),
        district="梁溪区",
        street="江海街道",
        **PRIVATE,
    )
    target = make_wish(
        child=child,
        supervisor=supervisor,
        title=TITLE,
        story="小雨点最喜欢问“为什么”，想要一套自己的科普书，放学后可以慢慢读。",
        category="books",
        amount_fen=16800,
    )
    other = make_child(caseworker, alias="小石头", district="滨湖区", street="河埒街道")
    for n in range(newer):
        make_wish(child=other, supervisor=supervisor, title=f"一双运动鞋 {n + 1}", category="sports")
    return target, child


def _wish_cards(page, title):
    return page.locator("article.wish-card").filter(has_text=title)


def test_guest_claims_on_a_phone_and_manages_the_claim_by_private_link(
    new_context, phone_page, live_server, browser_app, db, snap
):
    per_page = browser_app.config["PUBLIC_PAGE_SIZE"]
    target, child = _published_wishes(newer=per_page)
    with reading(db):
        public_id, age = target.public_id, child.age
    page = phone_page

    # The public list, newest first: the wish is not on the first page until the guest filters.
    page.goto("/wishes")
    expect(page.locator("article.wish-card")).to_have_count(per_page)
    expect(_wish_cards(page, TITLE)).to_have_count(0)
    assert_no_horizontal_scroll(page)
    snap(page, "list")

    # The filters are folded away on the first screen: open them.
    page.locator(".more-filters > summary").tap()
    filters = page.locator("form.filters")
    filters.locator("select[name=district]").select_option("梁溪区")
    filters.locator("select[name=category]").select_option("books")
    filters.locator("button[type=submit]").tap()
    page.wait_for_url(re.compile(r"district=.*category=books"))
    card = _wish_cards(page, TITLE)
    expect(page.locator("article.wish-card")).to_have_count(1)
    expect(card).to_contain_text("小雨点")
    assert_no_horizontal_scroll(page)
    snap(page, "filtered")

    # Open the wish → claimed manage page: a guest should need seconds, not minutes.
    started = time.perf_counter()
    card.locator(f"a[href='/wishes/{public_id}']").tap()
    page.wait_for_url(f"**/wishes/{public_id}")

    who = page.locator("article.wish .who")
    expect(who).to_contain_text("小雨点")
    expect(who).to_contain_text(str(age))
    expect(who).to_contain_text("梁溪区江海街道")
    html = page.content()
    for key, value in PRIVATE.items():
        assert value not in html, f"the child's {key} is on the public page"
    assert "雨涵" not in html, "the child's given name is on the public page"
    assert_no_horizontal_scroll(page)
    snap(page, "detail")

    # A slip in the e-mail address: the answer scrolls back to the form and says what is wrong.
    form = page.locator(f"form[action^='/wishes/{public_id}/claim']")
    form.locator("input[name=name]").fill("陈晓")
    form.locator("input[name=contact]").fill("chen.xiao@example")
    form.locator("input[name=display_name]").fill("陈阿姨")
    form.locator("button[type=submit]").tap()
    contact = form.locator(".field.has-error:has(input[name=contact])")
    expect(contact.locator("[role=alert]")).to_be_visible()
    expect(contact).to_be_in_viewport()
    expect(form.locator("input[name=name]")).to_have_value("陈晓")
    assert_no_horizontal_scroll(page)
    snap(page, "claim-error")
    form.locator("input[name=contact]").fill("chen.xiao@example.com")
    form.locator("button[type=submit]").tap()
    page.wait_for_url(re.compile(r"/claims/manage/[A-Za-z0-9_-]+\?new=1"))
    expect(page.locator(".private-link input.copy")).to_be_visible()
    elapsed = time.perf_counter() - started
    assert elapsed < 15, f"the guest needed {elapsed:.1f} s from opening the wish to the manage page"

    # The manage page: the private link (pointing back to this site) and the due date.
    token = re.search(r"/claims/manage/([A-Za-z0-9_-]+)", page.url).group(1)
    manage_link = page.locator(".private-link input.copy").input_value()
    assert manage_link == f"{live_server.url}/claims/manage/{token}"
    with reading(db):
        claim = db.session.scalar(select(Claim).join(Wish).where(Wish.public_id == public_id))
        assert (claim.status, claim.name, claim.email, claim.display_name) == (
            ClaimStatus.ACTIVE,
            "陈晓",
            "chen.xiao@example.com",
            "陈阿姨",
        )
        mail = db.session.scalar(select(Notification).where(Notification.recipient == "chen.xiao@example.com"))
        assert manage_link in mail.body
        with browser_app.test_request_context(headers={"Accept-Language": "zh-CN"}):
            due = format_date(claim.due_at, "medium")
    expect(page.locator("dd.due")).to_have_text(due)
    expect(page.locator("[role=status]").first).to_be_visible()
    html = page.content()
    assert TITLE in html and "陈阿姨" in html
    assert PRIVATE["legal_name"] not in html
    assert_no_horizontal_scroll(page)
    snap(page, "manage")

    # The open list no longer offers it; the "claimed" tab does.
    page.goto("/wishes?district=梁溪区")
    expect(page.locator("p.empty")).to_be_visible()
    expect(_wish_cards(page, TITLE)).to_have_count(0)
    page.locator("nav.tabs a[href*='status=claimed']").tap()
    page.wait_for_url(re.compile(r"status=claimed"))
    expect(_wish_cards(page, TITLE)).to_have_count(1)

    # Another browser, no cookies at all: the private link alone manages the claim.
    other = new_context(phone=True)
    assert other.cookies() == []
    elsewhere = other.new_page()
    elsewhere.goto(manage_link)
    expect(elsewhere.locator("h1")).to_contain_text(TITLE)
    expect(elsewhere.locator("dd.due")).to_have_text(due)
    assert_no_horizontal_scroll(elsewhere)
    cancel = elsewhere.locator(f"form[action='/claims/manage/{token}/cancel']")
    cancel.locator("input[name=reason]").fill("临时出差，来不及送")
    cancel.locator("button[type=submit]").tap()
    expect(elsewhere.locator(".status-claim-cancelled")).to_be_visible()
    expect(cancel).to_have_count(0)
    assert_no_horizontal_scroll(elsewhere)
    snap(elsewhere, "cancelled")

    # Back on the open list for the next donor.
    page.goto("/wishes?district=梁溪区&category=books")
    expect(_wish_cards(page, TITLE)).to_have_count(1)
    with reading(db):
        wish = db.session.scalar(select(Wish).where(Wish.public_id == public_id))
        assert wish.status == WishStatus.PUBLISHED
        assert wish.claims[0].status == ClaimStatus.CANCELLED
        assert wish.claims[0].cancel_reason == "临时出差，来不及送"


def test_a_second_guest_cannot_claim_a_wish_taken_meanwhile(new_context, live_server, db, snap):
    """Two phones open the same wish; the slower one is told it has gone, not given a second claim."""
    target, _child = _published_wishes()
    with reading(db):
        public_id = target.public_id
    phones = [new_context(phone=True).new_page() for _ in range(2)]
    for phone in phones:
        phone.goto(f"/wishes/{public_id}")
    for n, phone in enumerate(phones):
        form = phone.locator(f"form[action^='/wishes/{public_id}/claim']")
        form.locator("input[name=name]").fill(f"访客{n}")
        form.locator("input[name=contact]").fill(f"1380000111{n}")
        form.locator("button[type=submit]").tap()
    phones[0].wait_for_url(re.compile(r"/claims/manage/"))
    expect(phones[1].locator(f"form[action^='/wishes/{public_id}/claim']")).to_have_count(0)
    # No public name given: the first guest is thanked by the name they gave.
    # The winner chose no public name: the page shows the surname only.
    expect(phones[1].locator("p.notice")).to_contain_text("访*")
    expect(phones[1].locator("a.button[href='/wishes'], a.button[href='/']")).to_be_visible()
    assert_no_horizontal_scroll(phones[1])
    snap(phones[1], "too-late")
    with reading(db):
        claims = db.session.scalars(select(Claim).join(Wish).where(Wish.public_id == public_id)).all()
        assert [c.name for c in claims] == ["访客0"]
