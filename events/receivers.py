"""What the wishes below tell the events: a featured wish claimed, released or fulfilled becomes a board message.

The messages are appended in the transaction that changed the claim (so a rolled-back
claim leaves no message), and the open streams are woken once that transaction commits.
"""

from flask import current_app, has_app_context
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from events import broker, services
from payments import signals as payment_signals
from wishes import signals

#: Session.info key: ids of the events that got messages in the session's open transaction.
WAKE = services.WAKE_KEY


def _publish_after_commit(session: Session) -> None:
    event_ids = session.info.pop(WAKE, None)
    if event_ids and has_app_context():
        live = broker.get(current_app)
        for event_id in sorted(event_ids):
            live.publish(event_id)


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(WAKE, None)


_connected = False


def connect() -> None:
    global _connected
    if _connected:
        return
    _connected = True
    signals.claim_made.connect(services.on_claim_made)
    signals.claim_released.connect(services.on_claim_released)
    signals.wish_fulfilled.connect(services.on_wish_fulfilled)
    payment_signals.donation_paid.connect(services.on_donation_paid)
    sa_event.listen(Session, "after_commit", _publish_after_commit)
    sa_event.listen(Session, "after_rollback", _forget_after_rollback)
