"""A wish in money mode paid in full online: held while the payment runs, kept or released by its outcome."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from core.clock import utcnow
from core.errors import Conflict, ValidationError
from core.models import AuditLog, Role
from funds import donations, integrity
from funds.models import Donation, DonationStatus
from payments import apply
from payments.models import PaymentEvent, PaymentReview
from tests.factories import login, make_fund, make_user, make_wish
from tests.payment_helpers import WEBHOOK_SECRET, configured, deliver, session_event
from wishes import payments as wish_payments
from wishes.jobs import expire_overdue_claims
from wishes.models import Claim, ClaimStatus, Wish, WishStatus
from wishes.services import claim_due_at, expire_claim, overdue_claims


@pytest.fixture(autouse=True)
def simulated(app):
    with configured(app, STRIPE_SECRET_KEY="", STRIPE_API_BASE="", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET):
        yield


def money_wish(modes="money", **overrides):
    fund = make_fund()
    return make_wish(modes=modes, fund=fund.slug, amount_fen=16800, **overrides)


def donor(**overrides):
    data = {"name": "王女士", "contact": "wang@example.org", "display_name": "王阿姨"}
    data.update(overrides)
    return donations.DonorInput(**data)


def paid_wish(db, wish, channel="card"):
    donation = wish_payments.pay_for_wish(wish, donor(), channel)
    db.session.commit()
    return donation


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def claim_of(db, donation) -> Claim:
    db.session.rollback()
    return db.session.scalar(select(Claim).where(Claim.donation_id == donation.id))


def actions(db) -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_paying_in_full_through_the_simulator_keeps_the_wish(app, client, db):
    wish = money_wish()
    page = client.get(f"/wishes/{wish.public_id}", headers={"Accept-Language": "en"})
    assert f"/donate/wish/{wish.public_id}" in page.text and "I'll pay for it online" in page.text

    form = client.get(f"/donate/wish/{wish.public_id}", headers={"Accept-Language": "en"})
    assert form.status_code == 200 and "¥168" in form.text and 'name="amount"' not in form.text
    response = client.post(
        f"/donate/wish/{wish.public_id}",
        data={
            "name": "王女士",
            "contact": "wang@example.org",
            "display_name": "王阿姨",
            "channel": "alipay",
            "src": "qr",
        },
    )
    assert response.status_code == 303
    db.session.rollback()
    donation = db.session.scalar(select(Donation))
    assert response.headers["Location"].endswith(f"/donate/simulator/{donation.public_id}")
    assert (donation.amount_fen, donation.fund_id, donation.wish_id) == (16800, wish.fund_id, wish.id)
    claim = claim_of(db, donation)
    assert (claim.status, claim.mode, claim.source) == (ClaimStatus.ACTIVE, "money", "qr")
    assert db.session.get(Wish, wish.id).status == WishStatus.CLAIMED
    hold = app.config["WISH_PAYMENT_HOLD_MINUTES"]
    assert hold == 30
    assert abs(claim.due_at - (claim.claimed_at + timedelta(minutes=hold))) < timedelta(seconds=5)

    paid = client.post(f"/donate/simulator/{donation.public_id}", data={"action": "pay"})
    assert paid.status_code == 303
    thanks = client.get(f"/donations/{donation.public_id}")
    db.session.rollback()
    donation = db.session.get(Donation, donation.id)
    assert donation.status == DonationStatus.SUCCEEDED and donation.receipt_no in thanks.text
    claim = claim_of(db, donation)
    wish = db.session.get(Wish, wish.id)
    assert claim.status == ClaimStatus.ACTIVE and wish.status == WishStatus.CLAIMED
    assert abs(claim.due_at - claim_due_at(wish)) < timedelta(seconds=5)
    assert claim.due_at > utcnow() + timedelta(days=1)
    assert integrity.check() == []
    assert {"claim.created", "claim.awaiting_payment", "donation.created", "donation.succeeded", "claim.paid"} <= set(
        actions(db)
    )
    assert count(db, PaymentReview) == 0
    # Nothing is left for the expiry job: the claim now runs for the normal time.
    assert expire_overdue_claims() == 0


def test_the_manage_page_says_whether_the_payment_arrived(client, db):
    wish = money_wish()
    account = make_user(Role.DONOR)
    donation = wish_payments.pay_for_wish(wish, donor(), "card", account=account)
    db.session.commit()
    claim = claim_of(db, donation)
    assert claim.donor_id == account.id and donation.donor_id == account.id
    login(client, account)
    pending = client.get(f"/me/claims/{claim.public_id}", headers={"Accept-Language": "en"})
    assert "payment of ¥168 is pending" in pending.text
    client.post(f"/donate/simulator/{donation.public_id}", data={"action": "pay"})
    received = client.get(f"/me/claims/{claim.public_id}", headers={"Accept-Language": "en"})
    db.session.rollback()
    assert "has been received" in received.text and db.session.get(Donation, donation.id).receipt_no in received.text


def test_a_declined_payment_cancels_the_claim_and_reopens_the_wish(client, db):
    wish = money_wish(modes="either")
    donation = paid_wish(db, wish)
    client.post(f"/donate/simulator/{donation.public_id}", data={"action": "decline"})
    claim = claim_of(db, donation)
    assert db.session.get(Donation, donation.id).status == DonationStatus.FAILED
    assert claim.status == ClaimStatus.CANCELLED and claim.cancel_reason == "payment failed"
    assert db.session.get(Wish, wish.id).status == WishStatus.PUBLISHED
    assert wish.public_id in client.get("/wishes").text
    assert "wish.released" in actions(db) and "claim.cancelled" in actions(db)
    thanks = client.get(f"/donations/{donation.public_id}")
    assert f'href="/donate/wish/{wish.public_id}"' in thanks.text
    assert integrity.check() == []


def test_an_expired_checkout_releases_the_wish(client, db):
    wish = money_wish()
    donation = paid_wish(db, wish, channel="wechat_pay")
    assert deliver(client, session_event(donation, "checkout.session.expired", payment_status="unpaid")) == "applied"
    claim = claim_of(db, donation)
    assert claim.status == ClaimStatus.CANCELLED and claim.cancel_reason == "payment failed"
    assert db.session.get(Wish, wish.id).status == WishStatus.PUBLISHED
    assert wish.public_id in client.get("/wishes").text
    # A second payer can take it now.
    again = paid_wish(db, db.session.get(Wish, wish.id))
    assert db.session.get(Wish, wish.id).status == WishStatus.CLAIMED and again.id != donation.id


def _hold_passes(db, donation):
    db.session.execute(
        update(Claim).where(Claim.donation_id == donation.id).values(due_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()


def test_the_expiry_job_releases_a_wish_whose_payment_is_still_pending(client, db):
    wish = money_wish()
    donation = paid_wish(db, wish)
    assert expire_overdue_claims() == 0
    _hold_passes(db, donation)
    assert expire_overdue_claims() == 1
    claim = claim_of(db, donation)
    assert claim.status == ClaimStatus.EXPIRED
    assert db.session.get(Wish, wish.id).status == WishStatus.PUBLISHED
    assert db.session.get(Donation, donation.id).status == DonationStatus.PENDING
    note = db.session.scalar(select(AuditLog.note).where(AuditLog.action == "claim.expired"))
    assert note == "payment not received in time"


def test_a_payment_after_the_release_stands_and_is_reviewed(client, db):
    wish = money_wish()
    donation = paid_wish(db, wish)
    _hold_passes(db, donation)
    assert expire_overdue_claims() == 1
    assert deliver(client, session_event(donation)) == "applied"
    db.session.rollback()
    paid = db.session.get(Donation, donation.id)
    assert paid.status == DonationStatus.SUCCEEDED and paid.receipt_no
    assert claim_of(db, donation).status == ClaimStatus.EXPIRED
    assert db.session.get(Wish, wish.id).status == WishStatus.PUBLISHED
    [review] = db.session.scalars(select(PaymentReview)).all()
    assert donation.public_id in review.reason and wish.public_id in review.reason
    assert review.event_id == db.session.scalar(select(PaymentEvent.event_id))
    assert "claim.paid" not in actions(db)
    assert integrity.check() == []


def test_a_payment_that_lands_first_keeps_the_claim_from_expiring(db):
    wish = money_wish()
    donation = paid_wish(db, wish)
    claim = db.session.scalar(select(Claim).where(Claim.donation_id == donation.id))
    _hold_passes(db, donation)
    [overdue] = overdue_claims()
    stale_due = overdue.due_at
    # The payment is recorded after the job read the claim but before it expires it.
    apply.handle_event(session_event(donation))
    db.session.commit()
    set_committed_value(overdue, "due_at", stale_due)
    set_committed_value(overdue, "status", ClaimStatus.ACTIVE.value)
    with pytest.raises(Conflict):
        expire_claim(overdue)
    db.session.rollback()
    assert db.session.get(Claim, claim.id).status == ClaimStatus.ACTIVE


def test_a_second_payer_while_held_gets_409_and_nothing_is_written(client, db):
    wish = money_wish()
    paid_wish(db, wish)
    before = (count(db, Donation), count(db, Claim), count(db, AuditLog))
    with pytest.raises(Conflict):
        wish_payments.pay_for_wish(db.session.get(Wish, wish.id), donor(name="李先生"), "card")
    db.session.rollback()
    response = client.post(
        f"/donate/wish/{wish.public_id}",
        data={"name": "李先生", "contact": "13800002222", "channel": "card"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 409 and "already claimed" in response.text
    db.session.rollback()
    assert (count(db, Donation), count(db, Claim), count(db, AuditLog)) == before


@pytest.mark.parametrize("case", ["gift only", "no fund"])
def test_a_wish_that_cannot_be_paid_online_is_refused_with_422(client, db, case):
    wish = make_wish(modes="gift", fund=make_fund().slug) if case == "gift only" else make_wish(modes="money")
    with pytest.raises(ValidationError) as refused:
        wish_payments.pay_for_wish(wish, donor(), "card")
    assert refused.value.status == 422
    db.session.rollback()
    response = client.post(
        f"/donate/wish/{wish.public_id}",
        data={"name": "李先生", "contact": "13800002222", "channel": "card"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422 and "cannot be paid online" in response.text
    assert client.get(f"/donate/wish/{wish.public_id}").status_code == 404
    assert f"/donate/wish/{wish.public_id}" not in client.get(f"/wishes/{wish.public_id}").text
    db.session.rollback()
    assert count(db, Donation) == 0 and count(db, PaymentEvent) == 0
    assert db.session.get(Wish, wish.id).status == WishStatus.PUBLISHED


def test_bad_donor_details_write_nothing(client, db):
    wish = money_wish()
    response = client.post(
        f"/donate/wish/{wish.public_id}",
        data={"name": "", "contact": "not a contact", "channel": "paypal"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422 and 'role="alert"' in response.text
    db.session.rollback()
    assert count(db, Donation) == 0 and count(db, Claim) == 0
    assert db.session.get(Wish, wish.id).status == WishStatus.PUBLISHED


def test_payers_racing_for_one_wish_over_http_leave_exactly_one_claim(live_server, db):
    wish = money_wish()
    url = f"{live_server.url}/donate/wish/{wish.public_id}"
    start = threading.Barrier(8)

    def send(n):
        start.wait()
        data = {"name": f"捐赠者{n}", "contact": f"139{n:08d}", "channel": "card"}
        return requests.post(url, data=data, allow_redirects=False, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = sorted(pool.map(send, range(8)))
    assert codes == [303] + [409] * 7, codes
    db.session.rollback()
    assert count(db, Donation) == 1 and count(db, Claim) == 1
    claim = db.session.scalar(select(Claim))
    assert claim.donation_id == db.session.scalar(select(Donation.id)) and claim.status == ClaimStatus.ACTIVE


def test_the_donation_api_pays_a_wish_in_full(app, client, db):
    wish = money_wish()
    body = {"wish": wish.public_id, "amount_fen": 16800, "name": "王女士", "contact": "wang@example.org"}
    created = client.post("/api/v1/donations", json=body)
    assert created.status_code == 201
    assert created.json["donation"]["amount_fen"] == 16800 and created.json["donation"]["status"] == "pending"
    assert "/donate/simulator/" in created.json["checkout_url"]
    db.session.rollback()
    claim = db.session.scalar(select(Claim).where(Claim.wish_id == wish.id))
    assert db.session.get(Wish, wish.id).status == WishStatus.CLAIMED and claim.status == ClaimStatus.ACTIVE
    assert claim.source == "api" and claim.donation.public_id == created.json["donation"]["id"]

    taken = client.post("/api/v1/donations", json=body)
    assert taken.status_code == 409 and taken.json["error"]["code"] == "conflict"


def test_the_donation_api_refuses_a_wish_it_cannot_pay_and_writes_nothing(app, client, db):
    wish = money_wish()
    gift_only = make_wish(modes="gift", fund=wish.fund.slug, amount_fen=16800)
    before = (count(db, Donation), count(db, Claim))
    base = {"name": "王女士", "contact": "wang@example.org"}
    part = client.post("/api/v1/donations", json={**base, "wish": wish.public_id, "amount_fen": 1000})
    assert part.status_code == 422 and "16800" in part.json["error"]["fields"]["amount_fen"]
    unknown = client.post("/api/v1/donations", json={**base, "wish": "nosuchwish00", "amount_fen": 1000})
    assert unknown.status_code == 404
    gift = client.post("/api/v1/donations", json={**base, "wish": gift_only.public_id, "amount_fen": 16800})
    assert gift.status_code == 422
    two = client.post("/api/v1/donations", json={**base, "wish": wish.public_id, "fund": "x", "amount_fen": 16800})
    assert two.status_code == 422
    db.session.rollback()
    assert (count(db, Donation), count(db, Claim)) == before
    assert db.session.get(Wish, wish.id).status == WishStatus.PUBLISHED
