"""A newlywed couple scans the registry's campaign QR on a phone, pays in the offline simulator,
gets a receipt and a certificate, and finds their names on the couples' wall."""

import re
from io import BytesIO
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from core.extensions import db as _db
from core.money import format_money
from funds.models import Campaign, CampaignKind, Donation, DonationStatus
from funds.views import _qr_target
from tests.browser.helpers import assert_no_horizontal_scroll, reading
from tests.factories import make_fund

pytestmark = pytest.mark.browser

PRESETS = [52000, 131400, 9900]
SLUG = "registry-liangxi"


def _couple_campaign():
    fund = make_fund(slug="xixin-hutong", name="溪心护童")
    campaign = Campaign(
        slug=SLUG,
        title="婚姻登记处爱心捐赠",
        description="新婚之际，一份礼物，守护困境儿童的微心愿。",
        kind=CampaignKind.COUPLE,
        fund_id=fund.id,
        presets=PRESETS,
    )
    _db.session.add(campaign)
    _db.session.commit()
    return campaign


def _scanned_url(browser_app, client_of_server) -> str:
    """The address the campaign's QR encodes, built by the code the QR route itself calls."""
    png = client_of_server.get(f"/campaigns/{SLUG}/qr.png")
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    with browser_app.test_request_context():
        return _qr_target("campaign", SLUG)


def _donation_id(page) -> str:
    return re.search(r"/donations/([A-Za-z0-9_-]+)$", page.url).group(1)


def _fill_couple_form(page, amount_fen: int, name: str, partner: str, contact: str):
    form = page.locator(f"form[action='/donate/campaign/{SLUG}']")
    expect(form.locator("input[name=preset]")).to_have_count(len(PRESETS))
    form.locator(f"input[name=preset][value='{amount_fen}']").check()
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=partner_name]").fill(partner)
    form.locator("input[name=contact]").fill(contact)
    return form


def _pdf(download, tmp_path: Path) -> bytes:
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    return target.read_bytes()


def _pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(body)).pages)


def test_couple_scans_the_registry_qr_pays_and_gets_receipt_certificate_and_wall(
    phone_page, live_server, browser_app, db, snap, tmp_path
):
    _couple_campaign()
    scanned = _scanned_url(browser_app, browser_app.test_client())
    assert scanned == f"{live_server.url}/donate/campaign/{SLUG}?src=qr"
    page = phone_page

    # The donor's phone opens what the QR encodes.
    page.goto(scanned)
    expect(page.locator("h1")).to_contain_text("婚姻登记处爱心捐赠")
    assert_no_horizontal_scroll(page)
    snap(page, "donate")
    form = _fill_couple_form(page, 131400, "李明", "张华", "13912345678")
    form.locator("button[type=submit]").tap()

    # The simulator says plainly that no real payment happens; its page fits the phone.
    page.wait_for_url(re.compile(r"/donate/simulator/[A-Za-z0-9_-]+$"))
    simulator = page.locator("article.simulator")
    expect(simulator.locator(".notice")).to_be_visible()
    expect(simulator.locator("button[name=action][value=decline]")).to_be_visible()
    assert_no_horizontal_scroll(page)
    snap(page, "simulator")
    simulator.locator("button[name=action][value=pay]").tap()

    # The thank-you page: succeeded (it may first say "processing" and refresh itself).
    page.wait_for_url(re.compile(r"/donations/[A-Za-z0-9_-]+$"))
    public_id = _donation_id(page)
    receipt_no = page.locator("dd.receipt-no")
    expect(receipt_no).to_be_visible(timeout=15_000)
    with reading(db):
        donation = db.session.scalar(select(Donation).where(Donation.public_id == public_id))
        assert donation.status == DonationStatus.SUCCEEDED
        assert (donation.amount_fen, donation.name, donation.partner_name) == (131400, "李明", "张华")
        assert donation.campaign.slug == SLUG
        number = donation.receipt_no
    assert number
    expect(receipt_no).to_have_text(number)
    expect(page.locator(".notice.success[role=status]")).to_be_visible()
    expect(page.locator("article.thanks")).to_contain_text("李明")
    expect(page.locator("article.thanks")).to_contain_text("张华")
    assert_no_horizontal_scroll(page)
    snap(page, "thanks")

    # Both papers come through the page's own links.
    with page.expect_download() as receipt_download:
        page.locator(f"a[href='/donations/{public_id}/receipt.pdf']").tap()
    receipt = _pdf(receipt_download.value, tmp_path)
    assert receipt.startswith(b"%PDF")
    assert number in _pdf_text(receipt)
    with page.expect_download() as certificate_download:
        page.locator(f"a[href='/donations/{public_id}/certificate.pdf']").tap()
    certificate = _pdf(certificate_download.value, tmp_path)
    assert certificate.startswith(b"%PDF")
    text = _pdf_text(certificate)
    assert "李明" in text and "张华" in text

    # The couples' wall: their names and the running total.
    page.goto(f"/campaigns/{SLUG}/wall")
    # Names nobody chose to show are masked on the public wall.
    expect(page.locator(".wall-names .wall-name")).to_have_text(["李* & 张*"])
    with browser_app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        total = format_money(131400)
    expect(page.locator(".wall-figure strong").first).to_have_text(total)
    expect(page.locator(".wall-figure strong").nth(1)).to_have_text("1")
    assert_no_horizontal_scroll(page)
    snap(page, "wall")


def test_a_declined_payment_is_shown_as_failed_and_nothing_is_on_the_wall(phone_page, db, snap):
    _couple_campaign()
    page = phone_page
    page.goto(f"/donate/campaign/{SLUG}?src=qr")
    form = _fill_couple_form(page, 52000, "赵强", "钱丽", "zhao.qiang@example.com")
    form.locator("button[type=submit]").tap()
    page.wait_for_url(re.compile(r"/donate/simulator/"))
    page.locator("article.simulator button[name=action][value=decline]").tap()

    page.wait_for_url(re.compile(r"/donations/[A-Za-z0-9_-]+$"))
    public_id = _donation_id(page)
    thanks = page.locator("article.thanks")
    expect(thanks.locator(".notice[role=alert]")).to_be_visible()
    expect(thanks.locator(".notice.success")).to_have_count(0)
    expect(thanks.locator("dd.receipt-no")).to_have_count(0)
    expect(thanks.locator("a[href$='.pdf']")).to_have_count(0)
    expect(thanks.locator(f"a[href='/donate/campaign/{SLUG}']")).to_be_visible()
    assert_no_horizontal_scroll(page)
    snap(page, "failed")
    with reading(db):
        donation = db.session.scalar(select(Donation).where(Donation.public_id == public_id))
        assert donation.status == DonationStatus.FAILED
        assert donation.receipt_no is None

    # No paper for a gift that never arrived, and the wall still waits for its first couple.
    assert page.request.get(f"/donations/{public_id}/certificate.pdf").status == 404
    page.goto(f"/campaigns/{SLUG}/wall")
    expect(page.locator(".wall-names")).to_have_count(0)
    expect(page.locator(".wall-figure strong").nth(1)).to_have_text("0")
