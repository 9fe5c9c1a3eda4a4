"""POST /stripe/webhook: the signature is checked on the raw body, the event is stored, and
Stripe gets its answer at once; the scheduler's `apply_payment_events` job applies it.

A delivery with a good signature is answered by `WebhookEndpoint`, a WSGI layer in front
of Flask: it checks the signature, stores the event (`payments.store_event`), writes the
access line and answers, without the app's per-request machinery (session, locale, CSRF,
limiter, URL routing), which would cost a delivery more than storing it does. Everything
else sent to the path (a bad or stale signature, a body too large or of unknown length,
a database that refuses the insert) goes on to the Flask view below, which runs the same
two steps and answers with the app's own errors, in the app's language and error log.
"""

import io
import json
import logging
import time

from flask import Blueprint, request
from sqlalchemy.exc import DBAPIError

from core.extensions import csrf, db
from core.logging import SECURITY_HEADERS, log_request, request_id_from
from funds import payments

logger = logging.getLogger(__name__)

PATH = "/stripe/webhook"

bp = Blueprint("funds_webhooks", __name__)
csrf.exempt(bp)


def _answer(event: dict, outcome: str, request_id: str | None = None) -> dict:
    extra = {"event": event["id"], "type": event["type"], "outcome": outcome}
    if request_id is not None:
        extra["request_id"] = request_id
    logger.info("stripe event", extra=extra)
    return {"received": True, "outcome": outcome}


@bp.post(PATH)
def stripe_webhook():
    event = payments.verify(request.get_data(), request.headers.get("Stripe-Signature"))
    return _answer(event, payments.store_event(db.engine, event))


class WebhookEndpoint:
    """WSGI middleware: answers signed deliveries to POST /stripe/webhook, passes the rest on."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            with self.app.app_context():
                self._engine = db.engine
        return self._engine

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        secret = self.app.config.get("STRIPE_WEBHOOK_SECRET")
        body = _read_body(environ, self.app.config.get("MAX_CONTENT_LENGTH"))
        if not secret or body is None:
            return self.wsgi_app(environ, start_response)
        event = payments.verified_event(body, environ.get("HTTP_STRIPE_SIGNATURE"), secret)
        if event is None:
            return self.wsgi_app(environ, start_response)
        rid = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        try:
            outcome = payments.store_event(self.engine, event)
        except DBAPIError as error:
            # Its kind only, never its text (which can quote the row); the view tries once more.
            logger.warning(
                "storing a stripe event failed", extra={"error": type(error.orig).__name__, "request_id": rid}
            )
            return self.wsgi_app(environ, start_response)
        answer = json.dumps(_answer(event, outcome, rid)).encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(answer))),
                *SECURITY_HEADERS,
                ("X-Request-ID", rid),
            ],
        )
        log_request("POST", PATH, 200, started, rid)
        return [answer]


def _read_body(environ, limit: int | None) -> bytes | None:
    """The request body, read once and put back for Flask to read again; None, unread,
    when its length is not given or is over `limit` (Flask then answers for it)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if length < 0 or (limit is not None and length > limit):
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body
