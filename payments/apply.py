"""Applying stored Stripe events to donations, in order, each once.

The webhook only stores events (`payments.intake`); the scheduler's
`apply-payment-events` job calls `apply_backlog`, which applies them a few per
transaction, oldest first. The offline payment simulator stores and applies its one
event in the donor's own request (`handle_event`). Nothing here commits except
`apply_backlog`, which is a job's whole unit of work.

Events can arrive in any order. A refund or dispute for a payment not yet recorded as
succeeded, or a dispute closing before it opened, is stored as deferred and applied as
soon as the step it waits for is applied, so every order reaches the same final state.
What a paid donation was for (a wish held while its payment was pending) is told through
`payments.signals`, so this module knows donations and nothing above them.
"""

import logging
import time

from sqlalchemy import exists, literal, or_, select
from sqlalchemy.exc import SQLAlchemyError

from core import writebehind
from core.clock import utcnow
from core.database import read_only
from core.errors import Conflict, DomainError, InvalidTransition
from core.extensions import db
from core.money import is_whole
from funds import donations
from funds.models import Donation, DonationStatus, Journal
from payments import signals
from payments.gateway import ACTOR
from payments.models import INSERT_EVENT, Outcome, PaymentEvent, PaymentReview, event_object, event_row

logger = logging.getLogger(__name__)


def _insert_event(event: dict) -> int | None:
    """Insert the event by id through the session; its row id, or None when it was stored
    before (a redelivery)."""
    return db.session.execute(INSERT_EVENT[db.engine.dialect.name], event_row(event)).scalar()


def handle_event(event: dict) -> Outcome:
    """Store and apply one event at once; returns its outcome. The caller commits."""
    row_id = _insert_event(event)
    if row_id is None:
        return Outcome.DUPLICATE
    return _apply_stored(db.session.get(PaymentEvent, row_id))


#: How often an event whose donation another transaction moved first is tried again.
ATTEMPTS = 3


def apply_received(limit: int = 200) -> int:
    """Apply up to `limit` stored, unapplied events, oldest first; returns how many were taken.

    Each event is applied as if in a savepoint of its own, so one that cannot be applied
    leaves the others standing. On PostgreSQL the events are taken `FOR UPDATE SKIP LOCKED`:
    two appliers never take the same event. The caller commits.
    """
    query = select(PaymentEvent).where(_outcome_is(Outcome.RECEIVED)).order_by(PaymentEvent.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    taken = db.session.scalars(query).all()
    if not taken:
        return 0
    # Events wait only for steps of their own donation: none waiting, nothing to replay.
    waiting = _has_outcome(Outcome.DEFERRED)
    known = _donations_named_by(taken)
    if not _apply_together(taken, known, waiting=waiting):
        for stored in taken:
            _apply_in_savepoint(stored, known, replay=waiting)
            waiting = waiting or stored.outcome == Outcome.DEFERRED
    return len(taken)


# --- performance plumbing: a batch applied with its writes sent together ----------------------
# One event costs a handful of small writes; sent one by one, the round trips are the cost
# of applying a giving day's backlog. The rules are the same either way.


def _donations_named_by(taken: list[PaymentEvent]) -> dict[str, Donation]:
    """The donations the batch's events name, in one query rather than one per event."""
    public_ids = {stored.donation_public_id for stored in taken if stored.donation_public_id}
    if not public_ids:
        return {}
    found = db.session.scalars(select(Donation).where(Donation.public_id.in_(public_ids)))
    return {donation.public_id: donation for donation in found}


def _apply_together(taken: list[PaymentEvent], known: dict[str, Donation], *, waiting: bool) -> bool:
    """Apply the batch in one savepoint, the services' writes held and sent a few statements
    per batch (core.writebehind); False, with nothing applied, if any event raised.

    An event that raises (its handler refuses it, or another transaction moved its donation
    first) would have been rolled back alone in its own savepoint: here the whole batch is
    rolled back instead, and the caller applies it one event at a time, the ordinary way.
    """
    try:
        with db.session.begin_nested():
            with writebehind.collecting():
                for stored in taken:
                    _apply_stored(stored, known, replay=waiting)
                    waiting = waiting or stored.outcome == Outcome.DEFERRED
            db.session.flush()
    except (DomainError, SQLAlchemyError):
        # The savepoint took back every write; what this session loaded may be out of date.
        db.session.expire_all()
        return False
    return True


# --- applying one event ------------------------------------------------------------------------


def _apply_in_savepoint(stored: PaymentEvent, known: dict[str, Donation], *, replay: bool) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with db.session.begin_nested():
                _apply_stored(stored, known, replay=replay)
            return
        except DomainError as exc:
            # A Conflict means another transaction moved the donation first: with its new
            # state read, the event may apply. An impossible step (InvalidTransition) will not.
            if isinstance(exc, Conflict) and not isinstance(exc, InvalidTransition) and attempt < ATTEMPTS:
                db.session.expire_all()
                continue
            with db.session.begin_nested():
                _finish(stored, Outcome.IGNORED, f"{stored.type} could not be applied: {exc.message}")
            return


def _outcome_is(outcome: Outcome):
    # The value is written into the SQL itself: a prepared statement's generic plan with a
    # parameter in its place could not use the partial index on that outcome.
    return PaymentEvent.outcome == literal(outcome, literal_execute=True)


def _has_outcome(outcome: Outcome) -> bool:
    return bool(db.session.scalar(select(exists().where(_outcome_is(outcome)))))


def has_received() -> bool:
    """Whether any stored event waits to be applied (one probe of a partial index)."""
    return _has_outcome(Outcome.RECEIVED)


def _apply_stored(stored: PaymentEvent, known: dict[str, Donation] | None = None, *, replay: bool = True) -> Outcome:
    outcome = _apply(stored, known or {})
    if replay and outcome == Outcome.APPLIED and stored.donation_public_id:
        _replay_deferred(stored.donation_public_id, stored.payment_intent_id)
    return outcome


def _finish(stored: PaymentEvent, outcome: Outcome, review: str | None = None) -> Outcome:
    stored.outcome = outcome.value if review is None else f"{Outcome.REVIEW}: {review}"
    stored.processed_at = None if outcome == Outcome.DEFERRED else utcnow()
    if review is not None:
        db.session.add(PaymentReview(event_id=stored.event_id, reason=review))
        logger.warning("payment event needs review", extra={"event": stored.event_id, "reason": review})
    return outcome if review is None else Outcome.REVIEW


def _find(stored: PaymentEvent, obj: dict, known: dict[str, Donation]) -> Donation | None:
    if stored.donation_public_id:
        found = known.get(stored.donation_public_id) or db.session.scalar(
            select(Donation).where(Donation.public_id == stored.donation_public_id)
        )
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


def _apply(stored: PaymentEvent, known: dict[str, Donation]) -> Outcome:
    event = stored.payload
    kind = stored.type
    obj = event_object(event)
    if kind not in _HANDLERS:
        return _finish(stored, Outcome.IGNORED)
    donation = _find(stored, obj, known)
    if donation is None:
        if kind.startswith("charge.") and stored.payment_intent_id:
            # Perhaps its payment is not recorded yet: the review is resolved when it is.
            _finish(stored, Outcome.DEFERRED, f"no donation for {kind} (payment {stored.payment_intent_id})")
            stored.outcome = Outcome.DEFERRED.value
            return Outcome.REVIEW
        return _finish(stored, Outcome.IGNORED, f"no donation for {kind}")
    stored.donation_public_id = donation.public_id
    return _dispatch(stored, donation, obj)


def _dispatch(stored: PaymentEvent, donation: Donation, obj: dict) -> Outcome:
    if stored.type.startswith("charge.") and donation.status == DonationStatus.FAILED:
        return _finish(stored, Outcome.IGNORED, f"{stored.type} for failed donation {donation.public_id}")
    return _HANDLERS[stored.type](stored, donation, obj)


def _checkout_completed(stored, donation, obj) -> Outcome:
    if mismatch := _mismatch(donation, obj, "amount_total"):
        return _finish(stored, Outcome.IGNORED, mismatch)
    if obj.get("payment_status") not in ("paid", "no_payment_required"):
        # Alipay and bank debits can complete unpaid; the async events say how it ends.
        return _finish(stored, Outcome.IGNORED)
    return _succeed(stored, donation, obj)


def _async_succeeded(stored, donation, obj) -> Outcome:
    if mismatch := _mismatch(donation, obj, "amount_total"):
        return _finish(stored, Outcome.IGNORED, mismatch)
    return _succeed(stored, donation, obj)


def _succeed(stored, donation, obj) -> Outcome:
    intent = obj.get("payment_intent") if isinstance(obj.get("payment_intent"), str) else None
    if donation.status == DonationStatus.FAILED:
        return _finish(stored, Outcome.IGNORED, f"payment reported for failed donation {donation.public_id}")
    changed = donations.succeed(donation, ACTOR, payment_intent_id=intent)
    if changed:
        for _receiver, reason in signals.donation_paid.send(donation, actor=ACTOR):
            if reason:
                # The money stands and the event is applied; only what it paid for needs a person.
                db.session.add(PaymentReview(event_id=stored.event_id, reason=reason))
                logger.warning("payment event needs review", extra={"event": stored.event_id, "reason": reason})
    return _finish(stored, Outcome.APPLIED if changed else Outcome.IGNORED)


def _session_failed(stored, donation, obj) -> Outcome:
    changed = donations.fail(donation, ACTOR, stored.type)
    if changed:
        signals.donation_payment_failed.send(donation, actor=ACTOR)
    return _finish(stored, Outcome.APPLIED if changed else Outcome.IGNORED)


def _waiting(donation: Donation) -> bool:
    return donation.status == DonationStatus.PENDING


def _charge_refunded(stored, donation, obj) -> Outcome:
    if mismatch := _mismatch(donation, obj, "amount"):
        return _finish(stored, Outcome.IGNORED, mismatch)
    if _waiting(donation):
        return _finish(stored, Outcome.DEFERRED)
    if isinstance(obj.get("id"), str) and not donation.charge_id:
        donation.charge_id = obj["id"]
    refunded = obj.get("amount_refunded")
    if not is_whole(refunded) or refunded < 0:
        return _finish(stored, Outcome.IGNORED, f"amount_refunded {refunded!r} is not valid")
    # Refund events carry the running total: the difference is what this event adds.
    delta = min(refunded, donation.amount_fen) - donation.refunded_fen
    if delta <= 0:
        return _finish(stored, Outcome.IGNORED)
    if donation.status == DonationStatus.DISPUTED:
        return _finish(stored, Outcome.IGNORED, f"refund of {delta} fen on disputed donation {donation.public_id}")
    try:
        donations.refund(donation, delta, ACTOR, source_key=f"stripe:{stored.event_id}", note=stored.event_id)
    except DomainError as exc:
        return _finish(stored, Outcome.IGNORED, f"refund of {delta} fen refused: {exc.message}")
    return _finish(stored, Outcome.APPLIED)


def _dispute_opened_key(obj) -> str:
    return f"stripe:dispute:{obj.get('id')}:opened"


def _dispute_created(stored, donation, obj) -> Outcome:
    if mismatch := _mismatch(donation, obj, None):
        return _finish(stored, Outcome.IGNORED, mismatch)
    if _waiting(donation):
        return _finish(stored, Outcome.DEFERRED)
    amount = obj.get("amount")
    if not is_whole(amount) or amount <= 0:
        return _finish(stored, Outcome.IGNORED, f"dispute amount {amount!r} is not valid")
    changed = donations.open_dispute(donation, amount, ACTOR, source_key=_dispute_opened_key(obj))
    return _finish(stored, Outcome.APPLIED if changed else Outcome.IGNORED)


def _dispute_closed(stored, donation, obj) -> Outcome:
    if mismatch := _mismatch(donation, obj, None):
        return _finish(stored, Outcome.IGNORED, mismatch)
    opened = db.session.scalar(select(Journal.id).where(Journal.source_key == _dispute_opened_key(obj)))
    if _waiting(donation) or (opened is None and donation.status != DonationStatus.DISPUTED):
        return _finish(stored, Outcome.DEFERRED)
    status = obj.get("status")
    if status not in ("won", "lost", "warning_closed"):
        return _finish(stored, Outcome.IGNORED, f"dispute closed with status {status!r}")
    changed = donations.close_dispute(
        donation,
        status != "lost",
        ACTOR,
        opened_key=_dispute_opened_key(obj),
        source_key=f"stripe:dispute:{obj.get('id')}:closed",
    )
    return _finish(stored, Outcome.APPLIED if changed else Outcome.IGNORED)


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
            select(PaymentEvent).where(_outcome_is(Outcome.DEFERRED), or_(*clauses)).order_by(PaymentEvent.id)
        ).all()
        for stored in waiting:
            obj = event_object(stored.payload)
            stored.donation_public_id = public_id
            outcome = _dispatch(stored, donation, obj)
            if outcome != Outcome.DEFERRED:
                now = utcnow()
                for review in db.session.scalars(
                    select(PaymentReview).where(
                        PaymentReview.event_id == stored.event_id, PaymentReview.resolved_at.is_(None)
                    )
                ):
                    if review.reason.startswith("no donation"):
                        review.resolved_at = now
                progress = progress or outcome == Outcome.APPLIED


#: Events per transaction. On PostgreSQL a batch's writes go out a few statements at a time
#: (see `_apply_together`), so a large batch is what keeps up with a giving day's peak.
BATCH = {"postgresql": 200, "sqlite": 5}


def apply_backlog(batch: int | None = None) -> int:
    """Apply every event the webhook stored, a batch per transaction, until none waits; commits.

    SQLite has one write lock, which the webhook needs too: there each transaction takes
    a few events and the job then pauses as long as it held the lock, so that deliveries
    arriving meanwhile are stored without waiting long.
    """
    with read_only():
        waiting = has_received()
        db.session.rollback()
    if not waiting:
        return 0
    sqlite = db.engine.dialect.name == "sqlite"
    batch = batch or BATCH.get(db.engine.dialect.name, BATCH["postgresql"])
    applied = 0
    while True:
        started = time.monotonic()
        taken = apply_received(batch)
        db.session.commit()
        if not taken:
            return applied
        applied += taken
        if sqlite:
            time.sleep(time.monotonic() - started)
