"""The offline payment simulator runs only where it is switched on, and never passes for real money."""

from io import BytesIO

from pypdf import PdfReader
from sqlalchemy import func, select

from core.models import Role
from funds import donations, integrity
from funds.models import Donation, DonationStatus, Journal
from tests.factories import make_fund, make_user
from tests.payment_helpers import configured, pending_donation

DONOR = {"name": "周先生", "contact": "13800001111"}


def count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Donation))


def test_without_stripe_or_the_switch_nobody_can_mark_a_donation_paid(app, client, db):
    fund = make_fund()
    donation = pending_donation(fund=fund)
    with configured(app, STRIPE_SECRET_KEY="", PAYMENT_SIMULATOR=False):
        before = count(db)
        page = client.get(f"/donate/fund/{fund.slug}?lang=en")
        assert "Online giving is not available on this site yet." in page.text and "disabled" in page.text
        form = client.post(f"/donate/fund/{fund.slug}", data={**DONOR, "preset": "2000", "channel": "card"})
        assert form.status_code == 503
        api = client.post("/api/v1/donations", json={**DONOR, "fund": fund.slug, "amount_fen": 2000})
        assert api.status_code == 503 and api.json["error"]["code"] == "payments_unavailable"
        assert client.get(f"/donate/simulator/{donation.public_id}").status_code == 404
        paid = client.post(f"/donate/simulator/{donation.public_id}", data={"action": "pay"})
        assert paid.status_code == 404
        db.session.rollback()
        assert count(db) == before
        assert db.session.get(Donation, donation.id).status == DonationStatus.PENDING


def _pay_in_simulator(app, client, db, fund, amount_fen=8800):
    with configured(app, STRIPE_SECRET_KEY=""):
        created = client.post("/api/v1/donations", json={**DONOR, "fund": fund.slug, "amount_fen": amount_fen})
        assert created.status_code == 201
        public_id = created.json["donation"]["id"]
        assert client.post(f"/donate/simulator/{public_id}", data={"action": "pay"}).status_code == 303
    db.session.rollback()
    return db.session.scalar(select(Donation).where(Donation.public_id == public_id))


def _public_balance(client, slug) -> int:
    return next(item for item in client.get("/api/v1/funds").json["items"] if item["slug"] == slug)["balance_fen"]


def test_a_simulated_donation_says_so_and_never_counts_in_public(app, client, db):
    fund = make_fund()
    donation = _pay_in_simulator(app, client, db, fund)
    assert donation.status == DonationStatus.SUCCEEDED and donation.simulated

    thanks = client.get(f"/donations/{donation.public_id}?lang=en")
    assert "Simulated" in thanks.text and "no real money moved" in thanks.text
    receipt = client.get(f"/donations/{donation.public_id}/receipt.pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(receipt.data)).pages)
    assert "SIMULATED" in text

    assert _public_balance(client, fund.slug) == 0
    assert "¥88" not in client.get(f"/funds/{fund.slug}").text
    with configured(app, DEMO_SITE=True):
        assert _public_balance(client, fund.slug) == 8800


def test_real_money_beside_simulated_money_still_counts(app, client, db):

    fund = make_fund()
    _pay_in_simulator(app, client, db, fund)
    donations.record_offline(_admin(db), donations.Target(fund), 5000, donations.DonorInput(**DONOR), "cash", None)
    db.session.commit()
    assert _public_balance(client, fund.slug) == 5000


def _admin(db):

    return make_user(Role.FUND_ADMIN)


def test_a_second_click_on_pay_counts_the_money_once(app, client, db):
    fund = make_fund()
    donation = _pay_in_simulator(app, client, db, fund)
    receipt = donation.receipt_no
    with configured(app, STRIPE_SECRET_KEY=""):
        again = client.post(f"/donate/simulator/{donation.public_id}", data={"action": "pay"})
        declined = client.post(f"/donate/simulator/{donation.public_id}", data={"action": "decline"})
    assert again.status_code == declined.status_code == 303
    db.session.rollback()
    journals = db.session.scalar(select(func.count()).select_from(Journal).where(Journal.donation_id == donation.id))
    donation = db.session.get(Donation, donation.id)
    assert journals == 1 and donation.status == DonationStatus.SUCCEEDED and donation.receipt_no == receipt
    assert integrity.check() == []
