"""POST /stripe/webhook: the signature is checked on the raw body, the event is stored, and
Stripe gets its answer at once; the scheduler's `apply_payment_events` job applies it."""

import logging

from flask import Blueprint, request

from core.database import one_statement
from core.extensions import csrf, db
from funds import payments

logger = logging.getLogger(__name__)

bp = Blueprint("funds_webhooks", __name__)
csrf.exempt(bp)


@bp.post("/stripe/webhook")
def stripe_webhook():
    event = payments.verify(request.get_data(), request.headers.get("Stripe-Signature"))
    # Storing is one statement, a transaction of its own on a connection of its own.
    with one_statement(db.engine) as connection:
        outcome = payments.receive(event, connection)
    logger.info("stripe event", extra={"event": event["id"], "type": event["type"], "outcome": outcome})
    return {"received": True, "outcome": outcome}
