"""What the packages below tell the events: a featured wish claimed, released or fulfilled becomes a board
message; a donation's money arriving for a campaign becomes a message of the campaign's screen (and of a live event's board).

The messages are appended in the transaction that changed the claim (so a rolled-back
claim leaves no message), and the open streams are woken once that transaction commits.
"""

from flask import current_app, has_app_context
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from events import broker, screens, services
from funds import signals as fund_signals
from payments import signals as payment_signals
from wishes import signals

#: Session.info key: ids of the events that got messages in the session's open transaction.
WAKE = services.WAKE_KEY


def _publish_after_commit(session: Session) -> None:
    event_ids = session.info.pop(WAKE, None)
    campaigns = session.info.pop(screens.WAKE_KEY, None)
    if (event_ids or campaigns) and has_app_context():
        live = broker.get(current_app)
        for event_id in sorted(event_ids or ()):
            live.publish(event_id)
        for topic in sorted(campaigns or ()):
            live.publish(topic)


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(WAKE, None)
    session.info.pop(screens.WAKE_KEY, None)


_connected = False


def connect() -> None:
    global _connected
    if _connected:
        return
    _connected = True
    signals.claim_made.connect(services.on_claim_made)
    signals.claim_released.connect(services.on_claim_released)
    signals.wish_fulfilled.connect(services.on_wish_fulfilled)
    # Online or offline; sent before payments' donation_paid, so the campaign's row lock comes before any
    # event's (the event row is the last lock a transaction takes).
    fund_signals.donation_succeeded.connect(screens.on_donation_succeeded)
    payment_signals.donation_paid.connect(services.on_donation_paid)
    sa_event.listen(Session, "after_commit", _publish_after_commit)
    sa_event.listen(Session, "after_rollback", _forget_after_rollback)
