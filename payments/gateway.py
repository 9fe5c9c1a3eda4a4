"""Stripe: the one module that imports stripe. Checkout Sessions out, signed events in.

The client names one API version whatever the account's default is. Without a secret key
the offline payment simulator takes Checkout's place (`checkout_url`). Nothing here
commits: a caller that creates a Checkout Session commits the donation first
(`core.transactions.commit_before_external_call`), then the session id after.
"""

import json
import logging

import stripe
from flask import current_app, url_for
from flask_babel import gettext as _

from core import audit
from core.errors import DomainError
from core.transactions import commit_before_external_call, transaction
from core.urls import public_url
from funds.models import Channel, Donation

logger = logging.getLogger(__name__)

API_VERSION = "2026-10-28.endive"
WEBHOOK_TOLERANCE_SECONDS = 300
ACTOR = "stripe"

PAYMENT_METHOD_OF_CHANNEL = {
    Channel.CARD: "card",
    Channel.ALIPAY: "alipay",
    Channel.WECHAT_PAY: "wechat_pay",
}


class PaymentUnavailable(DomainError):
    status = 502
    code = "payment_unavailable"


class PaymentsOff(DomainError):
    status = 503
    code = "payments_unavailable"


class InvalidWebhook(DomainError):
    status = 400
    code = "invalid_signature"


def enabled() -> bool:
    """Whether Stripe takes the payments."""
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def simulating() -> bool:
    """Whether the offline payment simulator stands in for Stripe: only when switched on, never beside a key."""
    return not enabled() and bool(current_app.config.get("PAYMENT_SIMULATOR"))


def available() -> bool:
    return enabled() or simulating()


def require_available() -> None:
    """Refuse before anything is written when this site takes no online payments at all."""
    if not available():
        raise PaymentsOff(_("Online giving is not available on this site yet."))


def _client() -> stripe.StripeClient:
    base = current_app.config.get("STRIPE_API_BASE")
    return stripe.StripeClient(
        current_app.config["STRIPE_SECRET_KEY"],
        stripe_version=API_VERSION,
        base_addresses={"api": base} if base else None,
        max_network_retries=2,
    )


# --- out: checkout --------------------------------------------------------------------------------


def checkout_url(donation: Donation) -> str:
    """Where the donor pays: a Stripe Checkout Session, or the offline simulator where it is switched on."""
    if not enabled():
        require_available()
        donation.simulated = True
        return url_for("payments_donate.simulator", donation_id=donation.public_id)
    method = PAYMENT_METHOD_OF_CHANNEL[Channel(donation.channel)]
    thanks = public_url("payments_donate.thanks", public_id=donation.public_id)
    params: dict = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": donation.currency.lower(),
                    "unit_amount": donation.amount_fen,
                    "product_data": {"name": donation.fund.name},
                },
            }
        ],
        "payment_method_types": [method],
        "client_reference_id": donation.public_id,
        "metadata": {"donation_id": donation.public_id},
        # Charges inherit the payment's metadata: refunds and disputes find their donation.
        "payment_intent_data": {"metadata": {"donation_id": donation.public_id}},
        "success_url": thanks,
        "cancel_url": thanks,
    }
    if method == "wechat_pay":
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    try:
        session = _client().v1.checkout.sessions.create(
            params, {"idempotency_key": f"checkout-{donation.public_id}-v{donation.version}"}
        )
    except stripe.StripeError as exc:
        logger.warning("checkout session failed", extra={"donation": donation.public_id, "error": type(exc).__name__})
        raise PaymentUnavailable(_("The payment service is not answering. Please try again in a moment.")) from None
    donation.checkout_session_id = session.id
    audit.record("donation.checkout_started", donation, ACTOR, after={"checkout_session_id": session.id})
    return session.url


# --- in: events -----------------------------------------------------------------------------------


def verified_event(payload: bytes, sig_header: str | None, secret: str) -> dict | None:
    """The event in a webhook body signed with `secret` within the tolerance, else None.

    The check is stripe's own `WebhookSignature.verify_header` on the raw body, the step of
    `Webhook.construct_event` that verifies; the body is then parsed once as plain JSON,
    without the StripeObject tree that `construct_event` builds and nothing here reads.
    Needs no app context: the webhook's WSGI layer calls it before Flask.
    """
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), sig_header, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        return None
    return event


def verify(payload: bytes, sig_header: str | None) -> dict:
    """The event in a signed webhook body, or InvalidWebhook for a bad or stale signature."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise InvalidWebhook(_("Webhooks are not configured."))
    event = verified_event(payload, sig_header, secret)
    if event is None:
        raise InvalidWebhook(_("The signature or the event is not valid."))
    return event


def start_checkout(donation: Donation) -> str:
    """Where the donor pays, with the request's one deliberate commit before Stripe is called:
    the donation is committed first, then the Checkout Session's id once Stripe answers."""
    commit_before_external_call()
    with transaction():
        return checkout_url(donation)


# --- in: the balance ------------------------------------------------------------------------------

#: Rows per page of Stripe's balance transactions (Stripe's own maximum).
PAGE_SIZE = 100


def balance_transactions(*, gte: int | None = None, lt: int | None = None, payout: str | None = None):
    """Every balance transaction created in [gte, lt) (Unix seconds), or paid out in `payout`, as plain
    dicts with their source expanded, a page at a time (newest first, as Stripe lists them).

    Yields each page's rows as a list, so a caller can show its progress.
    """
    if not enabled():
        raise PaymentsOff(_("Stripe is not configured on this site."))
    params: dict = {"limit": PAGE_SIZE, "expand[]": "data.source"}
    created = {key: value for key, value in (("gte", gte), ("lt", lt)) if value is not None}
    if created:
        params["created"] = created
    if payout:
        params["payout"] = payout
    client = _client()
    while True:
        try:
            # Read as plain JSON: a page of StripeObjects costs more to build than to fetch.
            page = client.raw_request("get", "/v1/balance_transactions", **params).data
        except stripe.StripeError as exc:
            logger.warning("listing balance transactions failed", extra={"error": type(exc).__name__})
            raise PaymentUnavailable(_("The payment service is not answering. Please try again in a moment.")) from None
        rows = page.get("data") if isinstance(page, dict) else None
        if not isinstance(rows, list):
            raise PaymentUnavailable(_("The payment service answered with something that is not a list."))
        yield rows
        if not page.get("has_more") or not rows:
            return
        params["starting_after"] = rows[-1]["id"]


# --- out: refunds -------------------------------------------------------------------------------


def refund(donation: Donation, amount_fen: int, idempotency_key: str) -> str:
    """Ask Stripe to refund part or all of a paid donation; the refund's id.

    The idempotency key makes a retry (a timeout, a second click) refund once: Stripe answers a
    repeated key with the refund it already made. The ledger is not touched here: it follows
    Stripe's `charge.refunded` event, as for a refund made in Stripe's dashboard.
    """
    if not enabled():
        raise PaymentsOff(_("Stripe is not configured on this site."))
    params: dict = {"amount": amount_fen, "metadata": {"donation_id": donation.public_id}}
    if donation.payment_intent_id:
        params["payment_intent"] = donation.payment_intent_id
    elif donation.charge_id:
        params["charge"] = donation.charge_id
    else:
        raise PaymentUnavailable(_("Stripe does not know this payment's id: refund it in Stripe's dashboard."))
    try:
        created = _client().v1.refunds.create(params, {"idempotency_key": idempotency_key})
    except stripe.StripeError as exc:
        logger.warning("refund failed", extra={"donation": donation.public_id, "error": type(exc).__name__})
        message = getattr(exc, "user_message", None) or _(
            "The payment service is not answering. Please try again in a moment."
        )
        raise PaymentUnavailable(message) from None
    return created.id
