"""A fake Stripe API on a loopback port, signed webhook deliveries, and Stripe-shaped events."""

import itertools
import json
import threading
import time
from contextlib import contextmanager
from urllib.parse import parse_qsl

import stripe
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from core.extensions import db
from funds import donations
from payments.apply import apply_backlog
from payments.models import PaymentEvent
from tests.factories import make_fund

WEBHOOK_SECRET = "whsec_test_secret"
_seq = itertools.count(1)


class FakeStripe:
    """Answers POST /v1/checkout/sessions like Stripe does, and keeps every request it saw."""

    def __init__(self):
        self.requests: list[dict] = []
        self.sessions: dict[str, dict] = {}
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wsgi(self, environ, start_response):
        request = Request(environ)
        form = dict(parse_qsl(request.get_data(as_text=True), keep_blank_values=True))
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "headers": dict(request.headers),
                "form": form,
            }
        )
        if request.method != "POST" or request.path != "/v1/checkout/sessions":
            body = {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}
            return Response(json.dumps(body), 404, content_type="application/json")(environ, start_response)
        key = request.headers.get("Idempotency-Key")
        if key not in self.sessions:
            n = next(_seq)
            self.sessions[key] = {
                "id": f"cs_test_{n:04d}",
                "object": "checkout.session",
                "url": f"https://checkout.stripe.test/c/pay/cs_test_{n:04d}",
                "mode": form.get("mode"),
                "client_reference_id": form.get("client_reference_id"),
                "metadata": {"donation_id": form.get("metadata[donation_id]")},
                "amount_total": int(form.get("line_items[0][price_data][unit_amount]", 0)),
                "currency": form.get("line_items[0][price_data][currency]"),
                "payment_status": "unpaid",
                "status": "open",
            }
        return Response(json.dumps(self.sessions[key]), 200, content_type="application/json")(environ, start_response)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def configured(app, **values):
    """Change the session-wide app's configuration for one test."""
    saved = {key: app.config.get(key) for key in values}
    app.config.update(values)
    try:
        yield app
    finally:
        app.config.update(saved)


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp or int(time.time()))


def post_event(client, event: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    """POST one event to the webhook as Stripe does: a JSON body signed with the endpoint's secret.

    The webhook stores on a connection of its own, as it would from another process: the
    test's session ends its transaction first, so SQLite's write lock is free.
    """
    db.session.rollback()
    payload = json.dumps(event)
    return client.post(
        "/stripe/webhook",
        data=payload,
        headers={"Stripe-Signature": sign(payload, secret, timestamp)},
        content_type="application/json",
    )


def outcome_of(event_id: str) -> str:
    """What applying the stored event came to; "review" for every "review: …"."""
    db.session.rollback()
    outcome = db.session.scalar(select(PaymentEvent.outcome).where(PaymentEvent.event_id == event_id))
    return "review" if outcome and outcome.startswith("review") else outcome


def deliver(client, event: dict, **signing) -> str:
    """Deliver an event, then run the scheduler's job that applies it; the event's outcome.

    The webhook itself only stores: it answers "stored", or "duplicate" for a copy.
    """
    response = post_event(client, event, **signing)
    assert response.status_code == 200, response.data
    if response.json["outcome"] == "duplicate":
        return "duplicate"
    assert response.json["outcome"] == "stored"
    db.session.rollback()
    apply_backlog()
    return outcome_of(event["id"])


def pending_donation(amount_fen=10000, fund=None, channel="card", **donor):
    fund = fund or make_fund()
    data = {"name": "周先生", "contact": "13800001111"}
    data.update(donor)
    donation = donations.create_donation(donations.Target(fund), amount_fen, donations.DonorInput(**data), channel)
    db.session.commit()
    return donation


def _event(event_type: str, obj: dict, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_test_{next(_seq):06d}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "type": event_type,
        "livemode": False,
        "data": {"object": obj},
    }


def session_event(
    donation,
    event_type="checkout.session.completed",
    *,
    payment_status="paid",
    amount=None,
    currency="cny",
    event_id=None,
):
    return _event(
        event_type,
        {
            "id": f"cs_test_{donation.public_id}",
            "object": "checkout.session",
            "client_reference_id": donation.public_id,
            "metadata": {"donation_id": donation.public_id},
            "amount_total": donation.amount_fen if amount is None else amount,
            "currency": currency,
            "payment_status": payment_status,
            "payment_intent": f"pi_{donation.public_id}",
        },
        event_id,
    )


def refund_event(donation, amount_refunded: int, refund_ids: list[str], *, event_id=None, with_metadata=True):
    return _event(
        "charge.refunded",
        {
            "id": f"ch_{donation.public_id}",
            "object": "charge",
            "amount": donation.amount_fen,
            "amount_refunded": amount_refunded,
            "currency": "cny",
            "payment_intent": f"pi_{donation.public_id}",
            "metadata": {"donation_id": donation.public_id} if with_metadata else {},
            "refunded": amount_refunded == donation.amount_fen,
            "refunds": {"object": "list", "data": [{"id": r, "object": "refund"} for r in refund_ids]},
        },
        event_id,
    )


def dispute_event(
    donation, event_type="charge.dispute.created", *, status="needs_response", dispute_id="dp_1", amount=None
):
    return _event(
        event_type,
        {
            "id": dispute_id,
            "object": "dispute",
            "amount": donation.amount_fen if amount is None else amount,
            "currency": "cny",
            "charge": f"ch_{donation.public_id}",
            "payment_intent": f"pi_{donation.public_id}",
            "status": status,
            "metadata": {},
        },
    )
