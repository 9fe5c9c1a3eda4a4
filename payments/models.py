"""What Stripe told us, stored before anything acts on it, and what a fund administrator must look at."""

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import db
from core.types import UTCDateTime


class Outcome(enum.StrEnum):
    """What became of a stored event. The column holds the value; a review also holds its reason."""

    #: Stored by the webhook, not applied yet.
    RECEIVED = "received"
    APPLIED = "applied"
    #: Nothing to do: a type we do not act on, a step already taken, or refused (then also reviewed).
    IGNORED = "ignored"
    #: Waiting for an earlier step of its donation.
    DEFERRED = "deferred"
    #: A fund administrator must look at it.
    REVIEW = "review"
    #: Delivered again: the first copy is the one kept.
    DUPLICATE = "duplicate"


class PaymentEvent(db.Model):
    """Every processor event, stored by its id before it is acted on: a redelivery changes nothing."""

    __tablename__ = "payment_events"
    __table_args__ = (
        # The applier's queue and the events waiting for an earlier step: both usually
        # empty, so looking for either costs one probe.
        *(
            Index(
                f"ix_payment_events_{outcome}",
                "id",
                sqlite_where=text(f"outcome = '{outcome}'"),
                postgresql_where=text(f"outcome = '{outcome}'"),
            )
            for outcome in (Outcome.RECEIVED, Outcome.DEFERRED)
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(80))
    donation_public_id: Mapped[str | None] = mapped_column(String(24), index=True)
    #: Lets an event that came before its payment find the donation once the payment is known.
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: "received" (not applied yet), "applied", "ignored", "deferred" (waiting for an earlier
    #: step) or "review: …".
    outcome: Mapped[str] = mapped_column(Text, default=Outcome.RECEIVED.value)
    payload: Mapped[dict] = mapped_column(JSON)


class PaymentReview(db.Model):
    """An event a fund administrator must look at: unknown donation, amount or currency mismatch."""

    __tablename__ = "payment_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# --- the stored form of an event -------------------------------------------------------------


def event_object(event: dict) -> dict:
    obj = (event.get("data") or {}).get("object")
    return obj if isinstance(obj, dict) else {}


def event_refs(event: dict) -> tuple[str | None, str | None]:
    """The donation's public id and the payment intent the event names, as far as it names them."""
    obj = event_object(event)
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    public_id = metadata.get("donation_id") or obj.get("client_reference_id")
    intent = obj.get("payment_intent")
    return (public_id if isinstance(public_id, str) else None), (intent if isinstance(intent, str) else None)


#: Store an event by its id once: a redelivery inserts nothing and returns no row.
INSERT_EVENT = {
    dialect: insert(PaymentEvent.__table__)
    .on_conflict_do_nothing(index_elements=["event_id"])
    .returning(PaymentEvent.__table__.c.id)
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def event_row(event: dict) -> dict:
    public_id, intent = event_refs(event)
    return {
        "event_id": event["id"][:255],
        "type": event["type"][:80],
        "donation_public_id": public_id[:24] if public_id else None,
        "payment_intent_id": intent[:255] if intent else None,
        "received_at": utcnow(),
        "outcome": Outcome.RECEIVED.value,
        "payload": event,
    }
