"""A refund of an online donation goes to Stripe once, after a confirmation; the ledger follows Stripe's event."""

import re

from sqlalchemy import func, select

from core.extensions import db
from core.models import AuditLog, Role
from funds import donations
from funds.ledger import figures
from funds.models import Donation, Journal
from tests.factories import login, make_fund, make_user
from tests.payment_helpers import WEBHOOK_SECRET, configured, deliver, pending_donation, refund_event
from tests.test_reconcile_stripe import stripe_balance  # noqa: F401 (a fixture)


def paid(fund, amount=8000):
    donation = pending_donation(amount, fund=fund)
    donations.succeed(donation, "stripe", payment_intent_id=f"pi_{donation.public_id}")
    db.session.commit()
    return donation


def nonce_of(page) -> str:
    return re.search(r'name="nonce" type="hidden" value="([0-9a-f]{32})"', page.text).group(1)


def test_a_confirmed_refund_is_sent_once_and_the_ledger_waits_for_stripe(app, client, db, stripe_balance):  # noqa: F811
    fund = make_fund()
    donation = paid(fund)
    login(client, make_user(Role.FUND_ADMIN))

    asked = client.get(f"/staff/donations/{donation.id}/refund")
    assert asked.status_code == 302 and asked.headers["Location"].endswith(
        f"/staff/donations/{donation.id}/refund/stripe"
    )
    page = client.get(f"/staff/donations/{donation.id}/refund/stripe")
    assert page.status_code == 200 and "周先生" in page.text and "80.00" in page.text
    nonce = nonce_of(page)

    for _attempt in range(2):  # a retry of the same confirmation
        done = client.post(f"/staff/donations/{donation.id}/refund/stripe", data={"amount": "30", "nonce": nonce})
        assert done.status_code == 302
    sent = [r for r in stripe_balance.requests if r["path"] == "/v1/refunds"]
    assert len(sent) == 2 and {r["idempotency_key"] for r in sent} == {f"refund-{donation.public_id}-{nonce}"}
    assert sent[0]["form"]["amount"] == "3000" and sent[0]["form"]["payment_intent"] == f"pi_{donation.public_id}"
    assert len(stripe_balance.refunds) == 1
    db.session.rollback()
    assert figures()[fund.id].raised_fen == 8000  # nothing booked until Stripe confirms
    assert db.session.scalar(select(func.count()).where(AuditLog.action == "donation.refund_requested")) == 2

    with configured(app, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET):
        assert deliver(client, refund_event(donation, 3000, ["re_1"])) == "applied"
    db.session.rollback()
    assert figures()[fund.id].raised_fen == 5000
    assert db.session.get(Donation, donation.id).refunded_fen == 3000


def test_too_much_or_a_stale_confirmation_sends_nothing(client, db, stripe_balance):  # noqa: F811
    donation = paid(make_fund())
    login(client, make_user(Role.FUND_ADMIN))
    nonce = nonce_of(client.get(f"/staff/donations/{donation.id}/refund/stripe"))
    too_much = client.post(f"/staff/donations/{donation.id}/refund/stripe", data={"amount": "80.01", "nonce": nonce})
    stale = client.post(f"/staff/donations/{donation.id}/refund/stripe", data={"amount": "1", "nonce": "x"})
    assert too_much.status_code == 422 and stale.status_code == 422
    assert [r for r in stripe_balance.requests if r["path"] == "/v1/refunds"] == []
    assert (
        db.session.scalar(select(func.count()).select_from(Journal).where(Journal.source_key.like("stripe:evt%"))) == 0
    )


def test_only_fund_admins_refund(client, db, stripe_balance):  # noqa: F811
    donation = paid(make_fund())
    login(client, make_user(Role.SUPERVISOR))
    assert client.post(f"/staff/donations/{donation.id}/refund/stripe", data={"amount": "1"}).status_code == 403
    assert [r for r in stripe_balance.requests if r["path"] == "/v1/refunds"] == []
