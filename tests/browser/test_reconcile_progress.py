"""A fund administrator starts a Stripe reconciliation on a phone, watches its progress while Stripe is read
in the background, then sees its results without touching the page."""

import pytest
from playwright.sync_api import expect

from core.models import Role
from reconcile import worker
from reconcile.models import ReconcileRun
from tests.browser.helpers import assert_no_horizontal_scroll, reading
from tests.browser.test_fund_admin_reconcile import sign_in
from tests.factories import make_fund, make_user
from tests.payment_helpers import configured
from tests.stripe_balance import FakeStripeBalance
from tests.test_reconcile_stripe import paid

pytestmark = pytest.mark.browser


def test_a_stripe_run_shows_its_progress_then_its_results(new_context, browser_app, db):
    fund = make_fund()
    admin = make_user(Role.FUND_ADMIN, email="fund.progress@example.org", name="钱会计")
    gifts = [paid(1000 + n, fund=fund) for n in range(130)]
    with reading(db):
        fund_id = fund.id
    with (
        FakeStripeBalance() as fake,
        configured(browser_app, STRIPE_SECRET_KEY="sk_test_fake", STRIPE_API_BASE=fake.url),
    ):
        for gift in gifts:
            fake.charge(gift, fee=30)
        fake.add("charge", 777, 26, source={"id": "ch_stranger", "object": "charge"})
        fake.holding = True
        page = new_context(phone=True).new_page()
        sign_in(page, admin)
        page.goto("/staff/reconcile")
        try:
            page.locator("form[action='/staff/reconcile/stripe'] button[type=submit]").click()
            page.wait_for_url("**/staff/reconcile/*")
            # The first page of 100 rows is read; the second waits at Stripe.
            progress = page.locator("#run-progress")
            expect(progress).to_be_visible()
            expect(page.locator("#progress-rows")).to_have_text("100")
            expect(page.locator("dd.run-status")).to_have_attribute("data-status", "running")
            assert_no_horizontal_scroll(page)
        finally:
            fake.release()
        # The script sees the run end and shows the results.
        expect(page.locator("tr[data-item]")).to_have_count(1, timeout=10_000)
        expect(progress).to_have_count(0)
        expect(page.locator("tr[data-kind=missing_here]")).to_have_attribute("data-layer", "donation_charge")
        expect(page.locator("dd.matched")).to_have_text("130")
        assert_no_horizontal_scroll(page)

        # The stranger's charge is answered with a correcting journal, prefilled from its difference.
        stranger = page.locator("tr[data-kind=missing_here][data-status=open]")
        stranger.locator("a[href$='/journal']").click()
        page.wait_for_url("**/journal")
        expect(page.locator("#amount")).to_have_value("7.77")
        expect(page.locator("#asset")).to_have_value("asset:stripe")
        expect(page.locator("#counter")).to_have_value("income:donations")
        assert_no_horizontal_scroll(page)
        page.select_option("#fund", str(fund_id))
        page.locator("#note").fill("未记录的线上捐赠，按 Stripe 入账")
        page.locator("form.correction button[type=submit]").click()
        page.wait_for_url("**/staff/reconcile/*")
        expect(page.locator("tr[data-kind=missing_here][data-status=resolved] .item-journal")).to_be_visible()
        expect(page.locator("form[action$='/close'] button")).to_be_visible()
        with reading(db) as session:
            run_id = int(page.url.rstrip("/").split("/")[-1].split("?")[0])
            worker.wait(browser_app, run_id)
            assert session.get(ReconcileRun, run_id).status == "open"
