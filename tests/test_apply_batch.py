"""A large batch of stored events comes out exactly as the same events applied one at a time."""

import re
from collections import Counter
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from core.errors import ValidationError
from core.extensions import db
from core.models import AuditLog
from funds import integrity
from funds.models import Donation, Journal
from payments import apply
from payments.models import INSERT_EVENT, PaymentEvent, PaymentReview, event_row
from tests.conftest import _empty_tables
from tests.factories import make_fund
from tests.payment_helpers import dispute_event, pending_donation, refund_event, session_event

BROKEN_DISPUTE = "dp_broken"


def _scenario(broken: bool) -> tuple[list[Donation], list[str]]:
    """45 pending donations and 60 stored events for them, in one order every run; their event ids."""
    fund = make_fund()
    d = [pending_donation(amount_fen=1000 + 100 * i, fund=fund) for i in range(45)]
    unknown = SimpleNamespace(public_id="nosuchdonation000001", amount_fen=100)
    events = [session_event(d[i]) for i in range(0, 40)]
    # Around the plain payments, in the order Stripe might send them:
    extras = [
        (1, session_event(d[0], "checkout.session.async_payment_succeeded")),  # a second report of one payment
        (3, refund_event(d[1], 3000, ["re_1"])),  # a refund after its payment, in the same batch
        (4, refund_event(d[1], d[1].amount_fen, ["re_1", "re_2"])),
        (6, dispute_event(d[2], dispute_id=BROKEN_DISPUTE if broken else "dp_d2")),  # its handler fails
        (8, dispute_event(d[3], dispute_id="dp_d3")),
        (9, dispute_event(d[3], "charge.dispute.closed", status="won", dispute_id="dp_d3")),
        (12, session_event(d[40], "checkout.session.expired")),
        (13, session_event(d[41], "checkout.session.async_payment_failed")),
        (14, session_event(d[40])),  # paid after it expired: reviewed
        (15, refund_event(d[42], 500, ["re_3"])),  # waits for its payment …
        (17, session_event(d[42])),  # … which comes two events later
        (18, session_event(unknown)),
        (20, session_event(d[43], amount=1)),  # amount mismatch
        (22, session_event(d[44], payment_status="unpaid")),
        (23, session_event(d[44], "checkout.session.async_payment_succeeded")),
        (25, {**session_event(d[5]), "type": "customer.created"}),
        (27, session_event(d[39])),  # the same payment again under another event id
        (29, refund_event(d[5], 1000, ["re_4"])),
        (30, refund_event(d[5], 1000, ["re_4"])),  # the same running total: nothing more
        (33, session_event(d[6], "checkout.session.expired")),  # expired after it was paid: nothing
    ]
    for at, event in reversed(extras):
        events.insert(at, event)
    assert len(events) == 60
    for n, event in enumerate(events):
        event["id"] = f"evt_mix_{n:03d}"
        db.session.execute(INSERT_EVENT[db.engine.dialect.name], event_row(event))
    db.session.commit()
    return d, [event["id"] for event in events]


def _outcome(donations: list[Donation], event_ids: list[str]) -> dict:
    """Everything applying the events changed, with each donation named by its place in the list."""
    db.session.rollback()
    names = {donation.public_id: f"D{i}" for i, donation in enumerate(donations)}
    by_id = {}
    pattern = re.compile("|".join(names))

    def plain(text):
        return pattern.sub(lambda m: names[m.group(0)], text) if isinstance(text, str) else text

    for row in db.session.scalars(select(Donation)):
        by_id[row.id] = names[row.public_id]
    state = {
        names[row.public_id]: (
            row.status,
            row.version,
            row.receipt_no,
            row.refunded_fen,
            row.disputed_fen,
            plain(row.charge_id),
            plain(row.payment_intent_id),
        )
        for row in db.session.scalars(select(Donation))
    }
    journals = sorted(
        (
            plain(j.source_key),
            j.memo,
            by_id.get(j.donation_id),
            j.reverses_id is not None,
            tuple(sorted((e.account.code, e.amount_fen) for e in j.entries)),
        )
        for j in db.session.scalars(select(Journal))
    )
    outcomes = dict(db.session.execute(select(PaymentEvent.event_id, PaymentEvent.outcome)).all())
    reviews = sorted(
        (r.event_id, plain(r.reason), r.resolved_at is not None) for r in db.session.scalars(select(PaymentReview))
    )
    audit = Counter(
        (a.action, by_id[a.object_id], plain(a.note))
        for a in db.session.scalars(select(AuditLog).where(AuditLog.object_type == "donations"))
    )
    return {
        "donations": state,
        "journals": journals,
        "events": [plain(outcomes[e]) for e in event_ids],
        "reviews": reviews,
        "audit": audit,
        "breaches": integrity.check(),
    }


@pytest.mark.parametrize(("batch", "broken"), [(60, False), (60, True), (7, True)])
def test_a_large_batch_applies_as_the_same_events_one_by_one(db, monkeypatch, batch, broken):
    original = apply._HANDLERS["charge.dispute.created"]

    def dispute_created(stored, donation, obj):
        if obj.get("id") == BROKEN_DISPUTE:
            raise ValidationError("the dispute handler refused it")
        return original(stored, donation, obj)

    monkeypatch.setitem(apply._HANDLERS, "charge.dispute.created", dispute_created)

    # One by one, each event in a savepoint of its own: the rules as written.
    donations, event_ids = _scenario(broken)
    with monkeypatch.context() as m:
        m.setattr(apply, "_apply_together", lambda *args, **kwargs: False)
        applied = 0
        while taken := apply.apply_received(1):
            db.session.commit()
            applied += taken
        assert applied == 60
    one_by_one = _outcome(donations, event_ids)
    _empty_tables()

    together = []
    apply_together = apply._apply_together

    def spy(*args, **kwargs):
        together.append(apply_together(*args, **kwargs))
        return together[-1]

    monkeypatch.setattr(apply, "_apply_together", spy)
    donations, event_ids = _scenario(broken)
    assert apply.apply_backlog(batch=batch) == 60
    batched = _outcome(donations, event_ids)

    assert batched == one_by_one
    assert batched["breaches"] == []
    # The batches went through the write-behind path, except one holding the failing event.
    assert together.count(False) == (1 if broken else 0)
    assert together.count(True) == -(-60 // batch) - together.count(False)
    paid = [s for s in batched["donations"].values() if s[2]]
    receipts = sorted(int(s[2].rsplit("-", 1)[1]) for s in paid)
    assert receipts == list(range(1, len(paid) + 1))
    assert len([j for j in batched["journals"] if j[0].endswith(":succeeded")]) == len(paid)
    assert "review" in " ".join(batched["events"]) and "deferred" not in batched["events"]
