"""Stripe: Checkout Sessions out, signed events in. The only module that imports stripe.

An event is stored by its id before anything acts on it, so a redelivery changes nothing.
The webhook only stores (`store_event`) and answers at once, as Stripe asks of an endpoint;
`apply_received` then applies the stored events in order, a few per transaction, in the
scheduler's `apply_payment_events` job. The offline payment simulator stores and applies
its one event in the donor's own request (`handle_event`). Nothing here commits: the
request or job that called it owns the commit.

Events can arrive in any order. A refund or dispute for a payment not yet recorded as
succeeded, or a dispute closing before it opened, is stored as "deferred" and applied as
soon as the step it waits for is applied, so every order reaches the same final state.
"""

import json
import logging

import stripe
from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import exists, literal, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from core import audit
from core.clock import utcnow
from core.errors import Conflict, DomainError, InvalidTransition
from core.extensions import db
from core.urls import public_url
from funds import services
from funds.models import DEFERRED, RECEIVED, Channel, Donation, DonationStatus, Journal, PaymentEvent, PaymentReview

logger = logging.getLogger(__name__)

#: Every request names this version, whatever the account's default is.
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


class InvalidWebhook(DomainError):
    status = 400
    code = "invalid_signature"


def enabled() -> bool:
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


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
    """Where the donor pays: a Stripe Checkout Session, or the offline simulator without a key."""
    if not enabled():
        return url_for("funds_donate.simulator", donation_id=donation.public_id)
    method = PAYMENT_METHOD_OF_CHANNEL[Channel(donation.channel)]
    thanks = public_url("funds_donate.thanks", public_id=donation.public_id)
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


def _object(event: dict) -> dict:
    obj = (event.get("data") or {}).get("object")
    return obj if isinstance(obj, dict) else {}


def _refs(event: dict) -> tuple[str | None, str | None]:
    """The donation's public id and the payment intent the event names, as far as it names them."""
    obj = _object(event)
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    public_id = metadata.get("donation_id") or obj.get("client_reference_id")
    intent = obj.get("payment_intent")
    return (public_id if isinstance(public_id, str) else None), (intent if isinstance(intent, str) else None)


def _postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


_INSERT_EVENT = {
    dialect: insert(PaymentEvent.__table__)
    .on_conflict_do_nothing(index_elements=["event_id"])
    .returning(PaymentEvent.__table__.c.id)
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def _event_row(event: dict) -> dict:
    public_id, intent = _refs(event)
    return {
        "event_id": event["id"][:255],
        "type": event["type"][:80],
        "donation_public_id": public_id[:24] if public_id else None,
        "payment_intent_id": intent[:255] if intent else None,
        "received_at": utcnow(),
        "outcome": RECEIVED,
        "payload": event,
    }


def _insert_event(event: dict) -> int | None:
    """Insert the event by id through the session; its row id, or None when it was stored
    before (a redelivery)."""
    return db.session.execute(_INSERT_EVENT[db.engine.dialect.name], _event_row(event)).scalar()


class _DriverInsert:
    """`_INSERT_EVENT` compiled once for one dialect, to run on the driver's own connection:
    its SQL, the order of its parameters and each column type's own bind processing, so
    the driver receives exactly what SQLAlchemy would send."""

    def __init__(self, dialect):
        columns = ["event_id", "type", "donation_public_id", "payment_intent_id", "received_at", "outcome", "payload"]
        compiled = _INSERT_EVENT[dialect.name].compile(dialect=dialect, column_keys=columns)
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
    parameters = statement.parameters(_event_row(event))
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


def handle_event(event: dict) -> str:
    """Store and apply one event at once; returns its outcome. The caller commits."""
    row_id = _insert_event(event)
    if row_id is None:
        return "duplicate"
    return _apply_stored(db.session.get(PaymentEvent, row_id))


#: How often an event whose donation another transaction moved first is tried again.
ATTEMPTS = 3


def apply_received(limit: int = 20) -> int:
    """Apply up to `limit` stored, unapplied events, oldest first; returns how many were taken.

    Each event runs in a savepoint of its own, so one that cannot be applied leaves the
    others standing. On PostgreSQL the events are taken `FOR UPDATE SKIP LOCKED`: two
    appliers never take the same event. The caller commits.
    """
    query = select(PaymentEvent).where(_outcome_is(RECEIVED)).order_by(PaymentEvent.id).limit(limit)
    if _postgresql():
        query = query.with_for_update(skip_locked=True)
    taken = db.session.scalars(query).all()
    # Events wait only for steps of their own donation: none waiting, nothing to replay.
    waiting = bool(taken) and _has_outcome(DEFERRED)
    for stored in taken:
        _apply_in_savepoint(stored, replay=waiting)
        waiting = waiting or stored.outcome == DEFERRED
    return len(taken)


def _apply_in_savepoint(stored: PaymentEvent, *, replay: bool) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with db.session.begin_nested():
                _apply_stored(stored, replay=replay)
            return
        except DomainError as exc:
            # A Conflict means another transaction moved the donation first: with its new
            # state read, the event may apply. An impossible step (InvalidTransition) will not.
            if isinstance(exc, Conflict) and not isinstance(exc, InvalidTransition) and attempt < ATTEMPTS:
                db.session.expire_all()
                continue
            with db.session.begin_nested():
                _finish(stored, "ignored", f"{stored.type} could not be applied: {exc.message}")
            return


def _outcome_is(outcome: str):
    # The value is written into the SQL itself: a prepared statement's generic plan with a
    # parameter in its place could not use the partial index on that outcome.
    return PaymentEvent.outcome == literal(outcome, literal_execute=True)


def _has_outcome(outcome: str) -> bool:
    return bool(db.session.scalar(select(exists().where(_outcome_is(outcome)))))


def has_received() -> bool:
    """Whether any stored event waits to be applied (one probe of a partial index)."""
    return _has_outcome(RECEIVED)


def _apply_stored(stored: PaymentEvent, *, replay: bool = True) -> str:
    outcome = _apply(stored)
    if replay and outcome == "applied" and stored.donation_public_id:
        _replay_deferred(stored.donation_public_id, stored.payment_intent_id)
    return outcome


def _finish(stored: PaymentEvent, outcome: str, review: str | None = None) -> str:
    stored.outcome = outcome if review is None else f"review: {review}"
    stored.processed_at = None if outcome == DEFERRED else utcnow()
    if review is not None:
        db.session.add(PaymentReview(event_id=stored.event_id, reason=review))
        logger.warning("payment event needs review", extra={"event": stored.event_id, "reason": review})
    return outcome if review is None else "review"


def _find(stored: PaymentEvent, obj: dict) -> Donation | None:
    if stored.donation_public_id:
        found = db.session.scalar(select(Donation).where(Donation.public_id == stored.donation_public_id))
        if found is not None:
            return found
    charge = obj.get("charge") if stored.type.startswith("charge.dispute.") else obj.get("id")
    clauses = []
    if stored.type.startswith("charge.") and isinstance(charge, str):
        clauses.append(Donation.charge_id == charge)
    if stored.payment_intent_id:
        clauses.append(Donation.payment_intent_id == stored.payment_intent_id)
    if not clauses:
        return None
    found = db.session.scalar(select(Donation).where(or_(*clauses)).limit(1))
    if found is not None and stored.donation_public_id is None:
        stored.donation_public_id = found.public_id
    return found


def _mismatch(donation: Donation, obj: dict, amount_key: str | None) -> str | None:
    currency = obj.get("currency")
    if not isinstance(currency, str) or currency.lower() != donation.currency.lower():
        return f"currency {currency!r} does not match donation {donation.public_id} ({donation.currency})"
    if amount_key is not None and obj.get(amount_key) != donation.amount_fen:
        return (
            f"{amount_key} {obj.get(amount_key)!r} does not match donation {donation.public_id} ({donation.amount_fen})"
        )
    return None


def _apply(stored: PaymentEvent) -> str:
    event = stored.payload
    kind = stored.type
    obj = _object(event)
    if kind not in _HANDLERS:
        return _finish(stored, "ignored")
    donation = _find(stored, obj)
    if donation is None:
        if kind.startswith("charge.") and stored.payment_intent_id:
            # Perhaps its payment is not recorded yet: the review is resolved when it is.
            _finish(stored, DEFERRED, f"no donation for {kind} (payment {stored.payment_intent_id})")
            stored.outcome = DEFERRED
            return "review"
        return _finish(stored, "ignored", f"no donation for {kind}")
    stored.donation_public_id = donation.public_id
    return _dispatch(stored, donation, obj)


def _dispatch(stored: PaymentEvent, donation: Donation, obj: dict) -> str:
    if stored.type.startswith("charge.") and donation.status == DonationStatus.FAILED:
        return _finish(stored, "ignored", f"{stored.type} for failed donation {donation.public_id}")
    return _HANDLERS[stored.type](stored, donation, obj)


def _checkout_completed(stored, donation, obj) -> str:
    if mismatch := _mismatch(donation, obj, "amount_total"):
        return _finish(stored, "ignored", mismatch)
    if obj.get("payment_status") not in ("paid", "no_payment_required"):
        # Alipay and bank debits can complete unpaid; the async events say how it ends.
        return _finish(stored, "ignored")
    return _succeed(stored, donation, obj)


def _async_succeeded(stored, donation, obj) -> str:
    if mismatch := _mismatch(donation, obj, "amount_total"):
        return _finish(stored, "ignored", mismatch)
    return _succeed(stored, donation, obj)


def _succeed(stored, donation, obj) -> str:
    intent = obj.get("payment_intent") if isinstance(obj.get("payment_intent"), str) else None
    if donation.status == DonationStatus.FAILED:
        return _finish(stored, "ignored", f"payment reported for failed donation {donation.public_id}")
    changed = services.succeed(donation, ACTOR, payment_intent_id=intent)
    if changed and (reason := services.wish_payment_succeeded(donation, ACTOR)):
        # The money stands and the event is applied; only the wish needs a person.
        db.session.add(PaymentReview(event_id=stored.event_id, reason=reason))
        logger.warning("payment event needs review", extra={"event": stored.event_id, "reason": reason})
    return _finish(stored, "applied" if changed else "ignored")


def _session_failed(stored, donation, obj) -> str:
    changed = services.fail(donation, ACTOR, stored.type)
    if changed:
        services.wish_payment_failed(donation, ACTOR)
    return _finish(stored, "applied" if changed else "ignored")


def _waiting(donation: Donation) -> bool:
    return donation.status == DonationStatus.PENDING


def _charge_refunded(stored, donation, obj) -> str:
    if mismatch := _mismatch(donation, obj, "amount"):
        return _finish(stored, "ignored", mismatch)
    if _waiting(donation):
        return _finish(stored, DEFERRED)
    if isinstance(obj.get("id"), str) and not donation.charge_id:
        donation.charge_id = obj["id"]
    refunded = obj.get("amount_refunded")
    if not isinstance(refunded, int) or isinstance(refunded, bool) or refunded < 0:
        return _finish(stored, "ignored", f"amount_refunded {refunded!r} is not valid")
    # Refund events carry the running total: the difference is what this event adds.
    delta = min(refunded, donation.amount_fen) - donation.refunded_fen
    if delta <= 0:
        return _finish(stored, "ignored")
    if donation.status == DonationStatus.DISPUTED:
        return _finish(stored, "ignored", f"refund of {delta} fen on disputed donation {donation.public_id}")
    try:
        services.refund(donation, delta, ACTOR, source_key=f"stripe:{stored.event_id}", note=stored.event_id)
    except DomainError as exc:
        return _finish(stored, "ignored", f"refund of {delta} fen refused: {exc.message}")
    return _finish(stored, "applied")


def _dispute_opened_key(obj) -> str:
    return f"stripe:dispute:{obj.get('id')}:opened"


def _dispute_created(stored, donation, obj) -> str:
    if mismatch := _mismatch(donation, obj, None):
        return _finish(stored, "ignored", mismatch)
    if _waiting(donation):
        return _finish(stored, DEFERRED)
    amount = obj.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        return _finish(stored, "ignored", f"dispute amount {amount!r} is not valid")
    changed = services.open_dispute(donation, amount, ACTOR, source_key=_dispute_opened_key(obj))
    return _finish(stored, "applied" if changed else "ignored")


def _dispute_closed(stored, donation, obj) -> str:
    if mismatch := _mismatch(donation, obj, None):
        return _finish(stored, "ignored", mismatch)
    opened = db.session.scalar(select(Journal.id).where(Journal.source_key == _dispute_opened_key(obj)))
    if _waiting(donation) or (opened is None and donation.status != DonationStatus.DISPUTED):
        return _finish(stored, DEFERRED)
    status = obj.get("status")
    if status not in ("won", "lost", "warning_closed"):
        return _finish(stored, "ignored", f"dispute closed with status {status!r}")
    changed = services.close_dispute(
        donation,
        status != "lost",
        ACTOR,
        opened_key=_dispute_opened_key(obj),
        source_key=f"stripe:dispute:{obj.get('id')}:closed",
    )
    return _finish(stored, "applied" if changed else "ignored")


_HANDLERS = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _async_succeeded,
    "checkout.session.async_payment_failed": _session_failed,
    "checkout.session.expired": _session_failed,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
}


def _replay_deferred(public_id: str, payment_intent_id: str | None) -> None:
    """Apply the events that waited for this donation's last step, oldest first, until none moves."""
    donation = db.session.scalar(select(Donation).where(Donation.public_id == public_id))
    if donation is None:
        return
    clauses = [PaymentEvent.donation_public_id == public_id]
    for intent in {donation.payment_intent_id, payment_intent_id} - {None}:
        clauses.append(PaymentEvent.payment_intent_id == intent)
    progress = True
    while progress:
        progress = False
        waiting = db.session.scalars(
            select(PaymentEvent).where(PaymentEvent.outcome == DEFERRED, or_(*clauses)).order_by(PaymentEvent.id)
        ).all()
        for stored in waiting:
            obj = _object(stored.payload)
            stored.donation_public_id = public_id
            outcome = _dispatch(stored, donation, obj)
            if outcome != DEFERRED:
                now = utcnow()
                for review in db.session.scalars(
                    select(PaymentReview).where(
                        PaymentReview.event_id == stored.event_id, PaymentReview.resolved_at.is_(None)
                    )
                ):
                    if review.reason.startswith("no donation"):
                        review.resolved_at = now
                progress = progress or outcome == "applied"
