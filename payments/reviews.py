"""The payment review queue: events a fund administrator must look at, and closing them."""

import json
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from core import audit
from core.clock import utcnow
from core.errors import InvalidTransition, NotFound, ValidationError
from core.extensions import db
from core.models import AuditLog, User
from funds.models import Donation, Fund
from payments.models import PaymentEvent, PaymentReview

#: Keys of a processor event whose values are a payer's contact details; the review page hides them.
CONTACT_KEYS = frozenset(
    {
        "address",
        "billing_details",
        "collected_information",
        "custom_fields",
        "customer_details",
        "customer_email",
        "customer_phone",
        "email",
        "phone",
        "receipt_email",
        "shipping",
        "shipping_details",
    }
)
HIDDEN = "[hidden]"


@dataclass
class ReviewRow:
    review: PaymentReview
    event: PaymentEvent | None
    #: The fund of the donation the event names, when that donation exists.
    fund: Fund | None
    resolved_by: User | None
    note: str | None = None


def _review_rows(*where, order_by, limit: int | None = None) -> list[ReviewRow]:
    statement = (
        select(PaymentReview, PaymentEvent, Fund, User)
        .outerjoin(PaymentEvent, PaymentEvent.event_id == PaymentReview.event_id)
        .outerjoin(Donation, Donation.public_id == PaymentEvent.donation_public_id)
        .outerjoin(Fund, Fund.id == Donation.fund_id)
        .outerjoin(User, User.id == PaymentReview.resolved_by_id)
        .where(*where)
        .order_by(*order_by)
    )
    if limit is not None:
        statement = statement.limit(limit)
    rows = [ReviewRow(*found) for found in db.session.execute(statement).all()]
    resolved = [row.review.id for row in rows if row.review.resolved_at is not None]
    if resolved:
        notes = db.session.execute(
            select(AuditLog.object_id, AuditLog.note)
            .where(
                AuditLog.action == "payment_review.resolved",
                AuditLog.object_type == PaymentReview.__tablename__,
                AuditLog.object_id.in_(resolved),
            )
            .order_by(AuditLog.id)
        ).all()
        by_review = dict(notes)
        for row in rows:
            row.note = by_review.get(row.review.id)
    return rows


def payment_reviews(*, resolved: bool = False, limit: int = 200) -> list[ReviewRow]:
    """Open items oldest first (a queue); resolved ones most recently resolved first."""
    if resolved:
        return _review_rows(
            PaymentReview.resolved_at.is_not(None),
            order_by=(PaymentReview.resolved_at.desc(), PaymentReview.id.desc()),
            limit=limit,
        )
    return _review_rows(
        PaymentReview.resolved_at.is_(None), order_by=(PaymentReview.created_at, PaymentReview.id), limit=limit
    )


def payment_review(review_id: int) -> ReviewRow:
    rows = _review_rows(PaymentReview.id == review_id, order_by=(PaymentReview.id,))
    if not rows:
        raise NotFound()
    return rows[0]


def payment_review_counts() -> dict[str, int]:
    """How many items are open and how many resolved."""
    resolved = PaymentReview.resolved_at.is_not(None)
    found = dict(db.session.execute(select(resolved, func.count()).group_by(resolved)).all())
    return {"open": int(found.get(False, 0)), "resolved": int(found.get(True, 0))}


def _without_contacts(value):
    if isinstance(value, dict):
        return {
            key: (HIDDEN if key in CONTACT_KEYS and item not in (None, "", {}, []) else _without_contacts(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_without_contacts(item) for item in value]
    return value


def event_payload_text(event: PaymentEvent | None) -> str:
    """The stored event, pretty-printed, with the payer's contact details hidden."""
    if event is None:
        return ""
    return json.dumps(_without_contacts(event.payload), indent=2, ensure_ascii=False, sort_keys=True)


def resolve_review(actor: User, review: PaymentReview, note: str) -> PaymentReview:
    """Close an item of the payment review queue with a note of what was found or done.

    A conditional UPDATE, so two administrators resolving the same item at once cannot both succeed.
    """
    fields: dict = {}
    note = (note or "").strip()
    if not 2 <= len(note) <= 500:
        fields["note"] = _("Write between %(low)d and %(high)d characters.", low=2, high=500)
    if fields:
        raise ValidationError(fields=fields)
    if review.resolved_at is not None:
        raise InvalidTransition(_("This review is already resolved."))
    now = utcnow()
    result = db.session.execute(
        update(PaymentReview)
        .where(PaymentReview.id == review.id, PaymentReview.resolved_at.is_(None))
        .values(resolved_at=now, resolved_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.expire(review)
        raise InvalidTransition(_("This review is already resolved."))
    set_committed_value(review, "resolved_at", now)
    set_committed_value(review, "resolved_by_id", actor.id)
    audit.record(
        "payment_review.resolved",
        review,
        actor,
        before={"resolved": False},
        after={"resolved": True, "event_id": review.event_id},
        note=note,
    )
    return review
