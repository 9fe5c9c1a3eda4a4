"""The webhook's fast path: performance plumbing, kept apart from the payment rules.

Stripe asks an endpoint to answer at once and act later. A delivery to
POST /stripe/webhook with a good signature is answered by `WebhookEndpoint`, a WSGI layer
in front of Flask: it checks the signature, stores the event with one INSERT run on the
driver itself (`store_event`), writes the access line and answers, without the app's
per-request machinery (session, locale, CSRF, limiter, URL routing) or SQLAlchemy's
execution layer, each of which would cost a delivery more than storing it does
(docs/performance.md has the figures). Everything else sent to the path (a bad or stale
signature, a body too large or of unknown length, a database that refuses the insert)
goes on to the Flask view (`payments.views.stripe_webhook`), which runs the same two
steps and answers with the app's own errors, in the app's language and error log. The
scheduler's `apply-payment-events` job applies what was stored (`payments.apply`).
"""

import io
import json
import logging
import time

from sqlalchemy.exc import DBAPIError

from core.extensions import db
from core.logging import SECURITY_HEADERS, log_request, request_id_from
from payments.gateway import verified_event
from payments.models import INSERT_EVENT, event_row

logger = logging.getLogger(__name__)

PATH = "/stripe/webhook"


class _DriverInsert:
    """`_INSERT_EVENT` compiled once for one dialect, to run on the driver's own connection:
    its SQL, the order of its parameters and each column type's own bind processing, so
    the driver receives exactly what SQLAlchemy would send."""

    def __init__(self, dialect):
        columns = ["event_id", "type", "donation_public_id", "payment_intent_id", "received_at", "outcome", "payload"]
        compiled = INSERT_EVENT[dialect.name].compile(dialect=dialect, column_keys=columns)
        self.sql = compiled.string
        self.positions = compiled.positiontup
        self.processors = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }

    def parameters(self, row: dict):
        values = {name: (self.processors[name](v) if name in self.processors else v) for name, v in row.items()}
        return values if self.positions is None else [values[name] for name in self.positions]


_DRIVER_INSERTS: dict[str, _DriverInsert] = {}


def store_event(engine, event: dict) -> str:
    """Store a verified event for `apply_received`: "stored", or "duplicate" for a redelivery.

    One `INSERT … ON CONFLICT (event_id) DO NOTHING RETURNING id`, a transaction of its own
    (autocommit on PostgreSQL, one BEGIN IMMEDIATE … COMMIT on SQLite), run on a pooled
    connection through the driver itself: the webhook's one statement skips SQLAlchemy's
    execution layer, which costs more than the statement. A copy delivered while the first
    is still uncommitted waits on the unique index and is answered "duplicate" once the
    first commits. A driver error comes out as SQLAlchemy's own DBAPIError (whose message
    the error log never quotes), and the connection it happened on is discarded.
    """
    dialect = engine.dialect
    statement = _DRIVER_INSERTS.get(dialect.name) or _DRIVER_INSERTS.setdefault(dialect.name, _DriverInsert(dialect))
    parameters = statement.parameters(event_row(event))
    connection = engine.raw_connection()
    try:
        if dialect.name == "sqlite":
            cursor = connection.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                rows = cursor.execute(statement.sql, parameters).fetchall()
                cursor.execute("COMMIT")
            except BaseException:
                connection.rollback()
                raise
        else:
            driver = connection.driver_connection
            driver.autocommit = True
            try:
                rows = driver.execute(statement.sql, parameters).fetchall()
            finally:
                driver.autocommit = False
    except dialect.loaded_dbapi.Error as error:
        connection.invalidate()
        raise DBAPIError.instance(
            statement.sql, None, error, dialect.loaded_dbapi.Error, hide_parameters=True, dialect=dialect
        ) from error
    finally:
        connection.close()
    return "stored" if rows else "duplicate"


def answer(event: dict, outcome: str, request_id: str | None = None) -> dict:
    extra = {"event": event["id"], "type": event["type"], "outcome": outcome}
    if request_id is not None:
        extra["request_id"] = request_id
    logger.info("stripe event", extra=extra)
    return {"received": True, "outcome": outcome}


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
        event = verified_event(body, environ.get("HTTP_STRIPE_SIGNATURE"), secret)
        if event is None:
            return self.wsgi_app(environ, start_response)
        rid = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        try:
            outcome = store_event(self.engine, event)
        except DBAPIError as error:
            # Its kind only, never its text (which can quote the row); the view tries once more.
            logger.warning(
                "storing a stripe event failed", extra={"error": type(error.orig).__name__, "request_id": rid}
            )
            return self.wsgi_app(environ, start_response)
        reply = json.dumps(answer(event, outcome, rid)).encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(reply))),
                *SECURITY_HEADERS,
                ("X-Request-ID", rid),
            ],
        )
        log_request("POST", PATH, 200, started, rid)
        return [reply]


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
