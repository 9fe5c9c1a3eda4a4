"""POST /stripe/webhook: signatures on the raw body, events stored once and applied by the job,
any order, a review queue."""

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from core.models import AuditLog
from funds import integrity, ledger
from funds.models import Donation, DonationStatus, Journal
from payments.apply import apply_backlog
from payments.models import PaymentEvent, PaymentReview
from tests.payment_helpers import (
    WEBHOOK_SECRET,
    configured,
    deliver,
    dispute_event,
    pending_donation,
    post_event,
    refund_event,
    session_event,
    sign,
)


@pytest.fixture(autouse=True)
def webhook_secret(app):
    with configured(app, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_SECRET_KEY=""):
        yield


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def fresh(db, donation) -> Donation:
    db.session.rollback()
    return db.session.scalar(select(Donation).where(Donation.public_id == donation.public_id))


def test_a_paid_session_succeeds_the_donation_once(client, db):
    donation = pending_donation()
    event = session_event(donation)
    assert deliver(client, event) == "applied"
    assert deliver(client, event) == "duplicate"
    d = fresh(db, donation)
    assert d.status == DonationStatus.SUCCEEDED and d.receipt_no and d.payment_intent_id == f"pi_{d.public_id}"
    assert count(db, PaymentEvent) == 1
    assert count(db, Journal) == 1
    assert integrity.check() == []


@pytest.mark.parametrize("how", ["wrong secret", "stale", "missing", "tampered body"])
def test_a_bad_or_stale_signature_is_refused_and_nothing_is_written(client, db, how):
    donation = pending_donation()
    event = session_event(donation)
    payload = json.dumps(event)
    header = sign(payload)
    if how == "wrong secret":
        header = sign(payload, "whsec_someone_else")
    elif how == "stale":
        header = sign(payload, timestamp=int(time.time()) - 301)
    elif how == "tampered body":
        payload = payload.replace('"amount_total": 10000', '"amount_total": 1')
    headers = {} if how == "missing" else {"Stripe-Signature": header}
    response = client.post("/stripe/webhook", data=payload, headers=headers, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_signature"
    assert count(db, PaymentEvent) == 0
    assert fresh(db, donation).status == DonationStatus.PENDING


def test_the_same_event_five_times_at_once_changes_the_donation_once(live_server, db):
    donation = pending_donation()
    payload = json.dumps(session_event(donation))
    barrier = threading.Barrier(5)
    answers: list[tuple[int, str]] = []

    def send():
        barrier.wait()
        headers = {"Stripe-Signature": sign(payload), "Content-Type": "application/json"}
        response = requests.post(f"{live_server.url}/stripe/webhook", data=payload, headers=headers, timeout=30)
        answers.append((response.status_code, response.json()["outcome"]))

    threads = [threading.Thread(target=send) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [(200, "duplicate")] * 4 + [(200, "stored")]
    assert fresh(db, donation).status == DonationStatus.PENDING
    assert apply_backlog() == 1
    assert apply_backlog() == 0
    d = fresh(db, donation)
    assert d.status == DonationStatus.SUCCEEDED and d.version == 2
    moves = db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "donation.succeeded"))
    assert moves == 1
    assert count(db, Journal) == 1
    assert count(db, PaymentEvent) == 1
    assert integrity.check() == []


def test_an_unpaid_completion_waits_for_the_async_result(client, db):
    paid_later = pending_donation(channel="alipay")
    deliver(client, session_event(paid_later, payment_status="unpaid"))
    assert fresh(db, paid_later).status == DonationStatus.PENDING
    deliver(client, session_event(paid_later, "checkout.session.async_payment_succeeded"))
    assert fresh(db, paid_later).status == DonationStatus.SUCCEEDED

    declined = pending_donation(channel="alipay", fund=fresh(db, paid_later).fund)
    deliver(client, session_event(declined, payment_status="unpaid"))
    deliver(client, session_event(declined, "checkout.session.async_payment_failed", payment_status="unpaid"))
    assert fresh(db, declined).status == DonationStatus.FAILED
    # A payment reported after the donation failed is not booked: an administrator looks at it.
    assert deliver(client, session_event(declined, "checkout.session.async_payment_succeeded")) == "review"
    assert fresh(db, declined).status == DonationStatus.FAILED
    assert count(db, PaymentReview) == 1
    assert integrity.check() == []


def test_an_expired_session_fails_the_donation(client, db):
    donation = pending_donation()
    deliver(client, session_event(donation, "checkout.session.expired", payment_status="unpaid"))
    d = fresh(db, donation)
    assert d.status == DonationStatus.FAILED and d.receipt_no is None
    assert count(db, Journal) == 0


def test_an_event_for_an_unknown_donation_is_answered_and_queued_for_review(client, db):
    class Stranger:
        public_id = "no-such-donation"
        amount_fen = 5000

    assert deliver(client, session_event(Stranger())) == "review"
    review = db.session.scalar(select(PaymentReview))
    assert "no donation" in review.reason and review.resolved_at is None
    assert count(db, Donation) == 0 and count(db, Journal) == 0


@pytest.mark.parametrize("change", [{"amount": 1}, {"currency": "usd"}])
def test_an_amount_or_currency_mismatch_changes_nothing_and_is_reviewed(client, db, change):
    donation = pending_donation()
    assert deliver(client, session_event(donation, **change)) == "review"
    assert fresh(db, donation).status == DonationStatus.PENDING
    assert count(db, PaymentReview) == 1 and count(db, Journal) == 0


def test_partial_then_full_refund(client, db):
    donation = pending_donation()
    deliver(client, session_event(donation))
    deliver(client, refund_event(donation, 3000, ["re_1"]))
    d = fresh(db, donation)
    assert d.status == DonationStatus.PARTIALLY_REFUNDED and d.refunded_fen == 3000
    assert ledger.figures()[d.fund_id].balance_fen == 7000
    deliver(client, refund_event(donation, 10000, ["re_1", "re_2"]))
    d = fresh(db, donation)
    assert d.status == DonationStatus.REFUNDED and d.refunded_fen == 10000
    assert ledger.figures()[d.fund_id].balance_fen == 0
    assert integrity.check() == []


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_a_dispute_won_or_lost(client, db, outcome):
    donation = pending_donation()
    deliver(client, session_event(donation))
    deliver(client, dispute_event(donation))
    d = fresh(db, donation)
    assert d.status == DonationStatus.DISPUTED and d.disputed_fen == 10000
    assert ledger.figures()[d.fund_id].balance_fen == 0
    deliver(client, dispute_event(donation, "charge.dispute.closed", status=outcome))
    d = fresh(db, donation)
    if outcome == "won":
        assert d.status == DonationStatus.SUCCEEDED and ledger.figures()[d.fund_id].balance_fen == 10000
    else:
        assert d.status == DonationStatus.REFUNDED and d.refunded_fen == 10000
        assert ledger.figures()[d.fund_id].balance_fen == 0
    assert integrity.check() == []


def _final_state(db, donation):
    d = fresh(db, donation)
    return d.status, d.refunded_fen, d.disputed_fen, ledger.figures()[d.fund_id].balance_fen


@pytest.mark.parametrize(
    "scenario",
    ["refunds", "refunds without metadata", "dispute lost", "dispute won"],
)
def test_events_in_any_order_reach_the_same_final_state(client, db, scenario):
    finals = set()
    fund = None
    for order in itertools.permutations(range(3)):
        donation = pending_donation(fund=fund)
        fund = donation.fund
        if scenario.startswith("refunds"):
            metadata = scenario == "refunds"
            events = [
                session_event(donation),
                refund_event(donation, 3000, ["re_1"], with_metadata=metadata),
                refund_event(donation, 10000, ["re_1", "re_2"], with_metadata=metadata),
            ]
        else:
            events = [
                session_event(donation),
                dispute_event(donation, dispute_id=f"dp_{donation.public_id}"),
                dispute_event(
                    donation, "charge.dispute.closed", status=scenario.split()[1], dispute_id=f"dp_{donation.public_id}"
                ),
            ]
        for i in order:
            assert deliver(client, events[i]) in ("applied", "deferred", "ignored", "review")
        d = fresh(db, donation)
        finals.add((d.status, d.refunded_fen, d.disputed_fen))
        assert (
            db.session.scalar(select(func.count()).select_from(PaymentEvent).where(PaymentEvent.outcome == "deferred"))
            == 0
        )
    assert len(finals) == 1, finals
    expected = {
        "refunds": (DonationStatus.REFUNDED, 10000, 0),
        "refunds without metadata": (DonationStatus.REFUNDED, 10000, 0),
        "dispute lost": (DonationStatus.REFUNDED, 10000, 0),
        "dispute won": (DonationStatus.SUCCEEDED, 0, 0),
    }[scenario]
    assert finals == {expected}
    # Reviews raised while an event waited for its payment are resolved once it arrived.
    assert (
        db.session.scalar(select(func.count()).select_from(PaymentReview).where(PaymentReview.resolved_at.is_(None)))
        == 0
    )
    assert integrity.check() == []


def test_different_events_for_one_payment_at_once_book_it_once(live_server, db):
    donation = pending_donation()
    payloads = [
        json.dumps(session_event(donation)),
        json.dumps(session_event(donation, "checkout.session.async_payment_succeeded")),
        json.dumps(session_event(donation)),
        json.dumps(session_event(donation, "checkout.session.async_payment_succeeded")),
    ]
    barrier = threading.Barrier(len(payloads))
    answers: list[int] = []

    def send(payload):
        barrier.wait()
        headers = {"Stripe-Signature": sign(payload), "Content-Type": "application/json"}
        url = f"{live_server.url}/stripe/webhook"
        answers.append(requests.post(url, data=payload, headers=headers, timeout=30).status_code)

    threads = [threading.Thread(target=send, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * len(payloads)
    db.session.rollback()
    assert apply_backlog() == len(payloads)
    d = fresh(db, donation)
    assert d.status == DonationStatus.SUCCEEDED and d.receipt_no.endswith("-000001")
    assert count(db, Journal) == 1 and count(db, PaymentEvent) == len(payloads)
    assert integrity.check() == []


@pytest.mark.parametrize("payload", ["not json", "[1, 2]", '{"type": "checkout.session.completed"}'])
def test_a_signed_body_that_is_not_an_event_is_refused(client, db, payload):
    response = client.post(
        "/stripe/webhook", data=payload, headers={"Stripe-Signature": sign(payload)}, content_type="application/json"
    )
    assert response.status_code == 400
    assert count(db, PaymentEvent) == 0


def test_a_signed_body_that_is_not_utf8_is_refused(client, db):
    import hashlib
    import hmac

    payload = b'{"id": "evt_bytes", "type": "checkout.session.completed", "note": "\xff\xfe"}'
    timestamp = int(time.time())
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    response = client.post(
        "/stripe/webhook",
        data=payload,
        headers={"Stripe-Signature": f"t={timestamp},v1={signature}"},
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_signature"
    assert count(db, PaymentEvent) == 0


def test_events_of_other_types_are_stored_and_ignored(client, db):
    assert (
        deliver(client, {"id": "evt_other", "type": "customer.created", "data": {"object": {"id": "cus_1"}}})
        == "ignored"
    )
    assert count(db, PaymentEvent) == 1 and count(db, PaymentReview) == 0


def test_a_refund_or_dispute_waiting_for_a_payment_that_then_fails_is_reviewed(client, db):
    refunded = pending_donation()
    disputed = pending_donation(fund=refunded.fund)
    deliver(client, refund_event(refunded, 10000, ["re_1"]))
    deliver(client, dispute_event(disputed))
    for donation in (refunded, disputed):
        assert (
            deliver(client, session_event(donation, "checkout.session.expired", payment_status="unpaid")) == "applied"
        )
        assert fresh(db, donation).status == DonationStatus.FAILED
    waiting = select(func.count()).select_from(PaymentEvent).where(PaymentEvent.outcome == "deferred")
    assert db.session.scalar(waiting) == 0
    open_reviews = select(func.count()).select_from(PaymentReview).where(PaymentReview.resolved_at.is_(None))
    assert db.session.scalar(open_reviews) == 2 and count(db, Journal) == 0
    assert integrity.check() == []


def test_the_webhook_answers_before_the_payment_is_applied(client, db):
    donation = pending_donation()
    event = session_event(donation)
    response = post_event(client, event)
    assert response.status_code == 200 and response.json == {"received": True, "outcome": "stored"}
    # The donor back from Checkout is told the truth: not yet.
    page = client.get(f"/donations/{donation.public_id}?lang=en").text
    assert "We have not yet heard from the payment service" in page
    assert fresh(db, donation).status == DonationStatus.PENDING and count(db, Journal) == 0

    assert apply_backlog() == 1
    d = fresh(db, donation)
    assert d.status == DonationStatus.SUCCEEDED and count(db, Journal) == 1
    page = client.get(f"/donations/{donation.public_id}?lang=en").text
    assert "We have not yet heard" not in page and d.receipt_no in page


def test_the_command_applies_what_the_webhook_stored(client, db, runner):
    donations = [pending_donation()]
    donations.append(pending_donation(fund=donations[0].fund))
    for donation in donations:
        assert post_event(client, session_event(donation)).json["outcome"] == "stored"
    db.session.rollback()
    result = runner.invoke(args=["apply-payment-events"])
    assert result.exit_code == 0 and result.output.strip() == "applied 2 payment events"
    assert {fresh(db, d).status for d in donations} == {DonationStatus.SUCCEEDED}
    assert runner.invoke(args=["apply-payment-events"]).output.strip() == "applied 0 payment events"


def test_two_appliers_at_once_apply_every_event_once(app, client, db):
    fund = pending_donation().fund
    donations = [pending_donation(fund=fund) for _ in range(24)]
    for donation in donations:
        # Two events report each payment; the appliers may take them at the same moment.
        for kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
            assert post_event(client, session_event(donation, kind)).json["outcome"] == "stored"
    db.session.rollback()
    barrier = threading.Barrier(2)
    taken: list[int] = []
    errors: list[BaseException] = []

    def applier():
        with app.app_context():
            barrier.wait()
            try:
                taken.append(apply_backlog(batch=4))
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=applier) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sum(taken) == 48
    db.session.rollback()
    statuses = {fresh(db, d).status for d in donations}
    assert statuses == {DonationStatus.SUCCEEDED}
    assert count(db, Journal) == len(donations)
    receipts = sorted(int(fresh(db, d).receipt_no.rsplit("-", 1)[1]) for d in donations)
    assert receipts == list(range(1, len(donations) + 1))
    received = select(func.count()).select_from(PaymentEvent).where(PaymentEvent.outcome == "received")
    assert db.session.scalar(received) == 0
    assert integrity.check() == []


def test_an_event_that_cannot_be_applied_is_reviewed_and_the_others_go_on(client, db, monkeypatch):
    from core.errors import ValidationError
    from payments import apply as payments

    def broken(stored, donation, obj):
        raise ValidationError("the dispute handler refused it")

    monkeypatch.setitem(payments._HANDLERS, "charge.dispute.created", broken)
    first = pending_donation()
    second = pending_donation(fund=first.fund)
    post_event(client, session_event(first))
    post_event(client, dispute_event(first))
    post_event(client, session_event(second))
    db.session.rollback()
    assert apply_backlog() == 3
    assert fresh(db, first).status == DonationStatus.SUCCEEDED
    assert fresh(db, second).status == DonationStatus.SUCCEEDED
    [review] = db.session.scalars(select(PaymentReview)).all()
    assert "could not be applied" in review.reason and review.resolved_at is None
    assert integrity.check() == []


def test_the_scheduler_process_applies_what_the_webhook_stored(app, client, db):
    donation = pending_donation()
    assert post_event(client, session_event(donation)).json["outcome"] == "stored"
    db.session.rollback()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SCHEDULER_NICE": "0",
        "LOG_LEVEL": "WARNING",
    }
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "scheduler"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while fresh(db, donation).status == DonationStatus.PENDING and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        scheduler.terminate()
        scheduler.wait(15)
    d = fresh(db, donation)
    assert d.status == DonationStatus.SUCCEEDED and d.receipt_no and count(db, Journal) == 1


def test_a_delivery_is_answered_with_the_apps_headers_and_access_line(client, db, caplog):
    donation = pending_donation()
    payload = json.dumps(session_event(donation))
    with caplog.at_level("INFO", logger="weixinyuan.access"):
        response = client.post(
            "/stripe/webhook",
            data=payload,
            headers={"Stripe-Signature": sign(payload), "X-Request-ID": "req-from-stripe"},
            content_type="application/json",
        )
    assert response.status_code == 200 and response.json == {"received": True, "outcome": "stored"}
    assert response.headers["X-Request-ID"] == "req-from-stripe"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    lines = [r for r in caplog.records if r.name == "weixinyuan.access"]
    assert [(r.path, r.status, r.request_id) for r in lines] == [("/stripe/webhook", 200, "req-from-stripe")]


def test_the_flask_view_alone_stores_an_event_once(app, client, db):
    # The view answers whatever the WSGI layer in front of it passes on; alone, it does the same.
    endpoint = app.wsgi_app
    app.wsgi_app = endpoint.wsgi_app
    try:
        event = session_event(pending_donation())
        assert [post_event(client, event).json["outcome"] for _ in range(2)] == ["stored", "duplicate"]
    finally:
        app.wsgi_app = endpoint
    assert count(db, PaymentEvent) == 1


def test_a_database_that_refuses_the_event_answers_500_and_the_redelivery_is_stored(client, db, monkeypatch, caplog):
    from sqlalchemy.exc import OperationalError

    from payments import intake as payments

    # What a driver can say: the row it refused. Built at run time, so no traceback's source shows it.
    driver_text = " ".join(["Failing", "row", "contains", "周先生"])

    def refuse(engine, event):
        raise OperationalError("INSERT INTO payment_events …", None, Exception(driver_text))

    event = session_event(pending_donation())
    with monkeypatch.context() as patched:
        patched.setattr(payments, "store_event", refuse)
        with caplog.at_level("WARNING"):
            response = post_event(client, event)
    assert response.status_code == 500 and response.json["error"]["code"] == "internal_error"
    assert "storing a stripe event failed" in caplog.messages and "database error" in caplog.messages
    assert not any(driver_text in r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert count(db, PaymentEvent) == 0
    # Stripe delivers again on any answer but 2xx.
    assert deliver(client, event) == "applied"


def test_a_body_over_the_size_limit_is_refused_unread(app, client, db):
    event = session_event(pending_donation())
    with configured(app, MAX_CONTENT_LENGTH=200):
        response = post_event(client, event)
    assert response.status_code == 413 and response.json["error"]["code"] == "payload_too_large"
    assert count(db, PaymentEvent) == 0


def test_a_stored_event_reads_back_through_the_orm_as_it_was_sent(client, db):
    from datetime import UTC, datetime, timedelta

    donation = pending_donation()
    event = session_event(donation)
    event["data"]["object"]["metadata"]["note"] = "周先生 \u2014 \\ \" ' \u0000 end"
    before = datetime.now(UTC)
    assert post_event(client, event).json["outcome"] == "stored"
    db.session.rollback()
    stored = db.session.scalar(select(PaymentEvent).where(PaymentEvent.event_id == event["id"]))
    assert stored.payload == event
    assert (stored.type, stored.donation_public_id, stored.outcome) == (event["type"], donation.public_id, "received")
    assert stored.payment_intent_id == event["data"]["object"]["payment_intent"]
    assert stored.received_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= stored.received_at <= datetime.now(UTC)


def test_without_a_webhook_secret_every_delivery_is_refused_and_nothing_is_written(app, client, db):
    event = session_event(pending_donation())
    with configured(app, STRIPE_WEBHOOK_SECRET=""):
        response = post_event(client, event)
        english = client.post("/stripe/webhook?lang=en", data="{}", content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_signature"
    assert response.json["error"]["message"] == "尚未配置 Webhook。"
    assert english.status_code == 400 and english.json["error"]["message"] == "Webhooks are not configured."
    assert count(db, PaymentEvent) == 0
