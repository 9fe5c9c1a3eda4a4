"""POST /stripe/webhook: the signature is checked on the raw body, then one event, one commit."""

import logging

from flask import Blueprint, request

from core.errors import Conflict
from core.extensions import csrf, db
from funds import payments

logger = logging.getLogger(__name__)

bp = Blueprint("funds_webhooks", __name__)
csrf.exempt(bp)

#: Another event for the same donation can move it first; the next attempt sees its new state.
ATTEMPTS = 3


@bp.post("/stripe/webhook")
def stripe_webhook():
    event = payments.verify(request.get_data(), request.headers.get("Stripe-Signature"))
    for attempt in range(1, ATTEMPTS + 1):
        try:
            outcome = payments.handle_event(event)
            db.session.commit()
            break
        except Conflict:
            db.session.rollback()
            if attempt == ATTEMPTS:
                raise
    logger.info("stripe event", extra={"event": event["id"], "type": event["type"], "outcome": outcome})
    return {"received": True, "outcome": outcome}
