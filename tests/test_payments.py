"""Checkout against a fake Stripe on a loopback port, the donor's pages, the simulator, the donation API."""

import re

import pytest
from sqlalchemy import func, select

from core.extensions import db as _db
from funds import integrity
from funds.models import Campaign, Donation, DonationStatus, Project
from payments import gateway
from payments.models import PaymentEvent
from tests.factories import make_fund
from tests.payment_helpers import FakeStripe, configured, pending_donation


@pytest.fixture
def fake_stripe(app):
    with FakeStripe() as fake, configured(app, STRIPE_SECRET_KEY="sk_test_fake", STRIPE_API_BASE=fake.url):
        yield fake


@pytest.fixture
def simulated(app):
    with configured(app, STRIPE_SECRET_KEY="", STRIPE_API_BASE=""):
        yield


def donations(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Donation))


def make_campaign(fund, **overrides):
    data = {
        "slug": "registry",
        "title": "婚姻登记处爱心角",
        "kind": "couple",
        "fund_id": fund.id,
        "presets": [5200, 13140],
    }
    data.update(overrides)
    campaign = Campaign(**data)
    _db.session.add(campaign)
    _db.session.commit()
    return campaign


# --- Checkout ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["card", "alipay", "wechat_pay"])
def test_checkout_session_carries_the_donation_and_an_idempotency_key(fake_stripe, db, channel):
    donation = pending_donation(amount_fen=8800, channel=channel)
    url = gateway.checkout_url(donation)
    db.session.commit()
    assert url.startswith("https://checkout.stripe.test/c/pay/cs_test_")
    [sent] = fake_stripe.requests
    assert sent["path"] == "/v1/checkout/sessions"
    assert sent["headers"]["Idempotency-Key"] == f"checkout-{donation.public_id}-v1"
    assert sent["headers"]["Stripe-Version"] == gateway.API_VERSION
    form = sent["form"]
    assert form["client_reference_id"] == donation.public_id
    assert form["metadata[donation_id]"] == donation.public_id
    assert form["payment_intent_data[metadata][donation_id]"] == donation.public_id
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "8800"
    assert form["line_items[0][price_data][currency]"] == "cny"
    assert form["payment_method_types[0]"] == channel
    assert form["success_url"].endswith(f"/donations/{donation.public_id}")
    if channel == "wechat_pay":
        assert form["payment_method_options[wechat_pay][client]"] == "web"
    assert db.session.get(Donation, donation.id).checkout_session_id.startswith("cs_test_")


def test_the_donate_form_sends_the_donor_to_stripe(fake_stripe, client, db):
    fund = make_fund()
    response = client.post(
        f"/donate/fund/{fund.slug}",
        data={"amount": "66.6", "name": "王女士", "contact": "wang@example.org", "channel": "alipay"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://checkout.stripe.test/")
    donation = db.session.scalar(select(Donation))
    assert donation.amount_fen == 6660 and donation.channel == "alipay" and donation.status == DonationStatus.PENDING
    assert fake_stripe.requests[0]["form"]["payment_method_types[0]"] == "alipay"


def test_the_simulator_is_off_when_stripe_is_configured(fake_stripe, client, db):
    donation = pending_donation()
    assert client.get(f"/donate/simulator/{donation.public_id}").status_code == 404
    assert client.post(f"/donate/simulator/{donation.public_id}", data={"action": "pay"}).status_code == 404
    assert db.session.get(Donation, donation.id).status == DonationStatus.PENDING


# --- the donor's pages and the offline simulator ----------------------------------------------------


def test_a_couple_pays_in_the_simulator_and_sees_the_receipt(app, simulated, client, db):
    fund = make_fund()
    campaign = make_campaign(fund)
    page = client.get(f"/donate/campaign/{campaign.slug}")
    assert page.status_code == 200
    assert "partner_name" in page.text and 'value="13140"' in page.text

    response = client.post(
        f"/donate/campaign/{campaign.slug}",
        data={
            "preset": "13140",
            "name": "张三",
            "partner_name": "李四",
            "contact": "13800001111",
            "channel": "wechat_pay",
        },
    )
    assert response.status_code == 303
    simulator = response.headers["Location"]
    donation = db.session.scalar(select(Donation))
    assert simulator.endswith(f"/donate/simulator/{donation.public_id}")
    assert donation.amount_fen == 13140 and donation.partner_name == "李四" and donation.campaign_id == campaign.id

    page = client.get(simulator)
    assert page.status_code == 200 and "simulator" in page.text.lower()
    paid = client.post(simulator, data={"action": "pay"})
    assert paid.status_code == 303 and paid.headers["Location"].endswith(f"/donations/{donation.public_id}")

    thanks = client.get(f"/donations/{donation.public_id}")
    db.session.rollback()
    donation = db.session.scalar(select(Donation))
    assert donation.status == DonationStatus.SUCCEEDED
    assert donation.receipt_no in thanks.text
    assert 'http-equiv="refresh"' not in thanks.text
    if "funds_receipts.receipt" in app.view_functions:
        assert f"/donations/{donation.public_id}/receipt.pdf" in thanks.text
        assert f"/donations/{donation.public_id}/certificate.pdf" in thanks.text
    assert db.session.scalar(select(func.count()).select_from(PaymentEvent)) == 1
    assert integrity.check() == []


def test_a_declined_simulated_payment_fails_honestly(simulated, client, db):
    donation = pending_donation()
    pending = client.get(f"/donations/{donation.public_id}")
    assert 'http-equiv="refresh"' in pending.text
    client.post(f"/donate/simulator/{donation.public_id}", data={"action": "decline"})
    page = client.get(f"/donations/{donation.public_id}")
    db.session.rollback()
    assert db.session.get(Donation, donation.id).status == DonationStatus.FAILED
    assert 'http-equiv="refresh"' not in page.text and "receipt-no" not in page.text


def test_a_tampered_return_url_changes_nothing(simulated, client, db):
    donation = pending_donation(amount_fen=10000)
    page = client.get(
        f"/donations/{donation.public_id}?amount_fen=1&status=succeeded&receipt_no=2026-999999&redirect_status=succeeded"
    )
    assert page.status_code == 200
    main = page.text.split("<main", 1)[1].split("</main>", 1)[0]
    assert "¥100" in main and "0.01" not in main and "2026-999999" not in main
    assert 'http-equiv="refresh"' in page.text
    db.session.rollback()
    d = db.session.get(Donation, donation.id)
    assert (d.status, d.amount_fen, d.receipt_no) == (DonationStatus.PENDING, 10000, None)


@pytest.mark.parametrize(
    "amount, message",
    [("0", "between"), ("-5", "yuan"), ("1.555", "yuan"), ("abc", "yuan"), ("50001", "between")],
)
def test_the_donate_form_refuses_bad_amounts_and_writes_nothing(simulated, client, db, amount, message):
    fund = make_fund()
    response = client.post(
        f"/donate/fund/{fund.slug}",
        data={"amount": amount, "name": "王女士", "contact": "13800001111", "channel": "card"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert message in response.text and 'role="alert"' in response.text
    assert donations(db) == 0


def test_unknown_or_closed_targets_have_no_donate_page(simulated, client, db):
    fund = make_fund()
    db.session.add(Project(slug="closed", title="已结束", fund_id=fund.id, goal_fen=100000, status="closed"))
    db.session.commit()
    assert client.get("/donate/fund/nope").status_code == 404
    assert client.get("/donate/project/closed").status_code == 404
    assert client.get(f"/donate/wish/{fund.slug}").status_code == 404


# --- the API ----------------------------------------------------------------------------------------


def test_api_starts_a_donation_and_shows_only_its_public_state(simulated, client, db):
    fund = make_fund()
    response = client.post(
        "/api/v1/donations",
        json={"fund": fund.slug, "amount_fen": 5000, "name": "王女士", "contact": "wang@example.org"},
    )
    assert response.status_code == 201, response.json
    body = response.json
    donation_id = body["donation"]["id"]
    assert body["donation"] == {
        "id": donation_id,
        "status": "pending",
        "amount_fen": 5000,
        "currency": "CNY",
        "receipt_no": None,
        "fund": fund.slug,
    }
    assert re.search(rf"/donate/simulator/{donation_id}$", body["checkout_url"])

    client.post(f"/donate/simulator/{donation_id}", data={"action": "pay"})
    state = client.get(f"/api/v1/donations/{donation_id}").json
    assert state["status"] == "succeeded" and re.fullmatch(r"\d{4}-\d{6}", state["receipt_no"])
    assert "contact" not in state and "name" not in state and "wang" not in str(state)
    assert client.get("/api/v1/donations/nope").status_code == 404


def test_api_with_stripe_returns_the_checkout_url(fake_stripe, client, db):
    fund = make_fund()
    response = client.post(
        "/api/v1/donations",
        json={
            "fund": fund.slug,
            "amount_fen": 5000,
            "name": "王女士",
            "contact": "wang@example.org",
            "channel": "wechat_pay",
        },
    )
    assert response.status_code == 201
    assert response.json["checkout_url"].startswith("https://checkout.stripe.test/")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"amount_fen": 0}, "amount_fen"),
        ({"amount_fen": -100}, "amount_fen"),
        ({"amount_fen": 1.5}, "amount_fen"),
        ({"amount_fen": "5000"}, "amount_fen"),
        ({"amount_fen": True}, "amount_fen"),
        ({"amount_fen": 5_000_001}, "amount_fen"),
        ({"currency": "USD"}, "currency"),
        ({"fund": "no-such-fund"}, "fund"),
        ({"fund": None, "project": "closed"}, "project"),
        ({"project": "closed"}, None),
        ({"fund": None}, None),
        ({"channel": "cash"}, "channel"),
        ({"channel": "paypal"}, "channel"),
        ({"contact": "not a contact"}, "contact"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_api_refuses_bad_input_and_writes_nothing(simulated, client, db, change, field):
    fund = make_fund()
    db.session.add(Project(slug="closed", title="已结束", fund_id=fund.id, goal_fen=100000, status="closed"))
    db.session.commit()
    body = {"fund": fund.slug, "amount_fen": 5000, "name": "王女士", "contact": "wang@example.org"}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/api/v1/donations", json=body)
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "validation_error"
    if field:
        assert field in error["fields"], error
    assert donations(db) == 0


def test_api_wants_json(simulated, client, db):
    response = client.post("/api/v1/donations", data="amount_fen=5000")
    assert response.status_code == 415
    assert donations(db) == 0


def test_the_donation_api_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "post" in paths["/api/v1/donations"]
    assert "get" in paths["/api/v1/donations/{public_id}"]
