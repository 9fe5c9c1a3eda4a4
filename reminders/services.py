"""Queue notifications inside a transaction; deliver them after it commits."""

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.clock import utcnow
from core.extensions import db
from reminders.models import Notification, NotificationStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def queue_notification(*, kind: str, recipient: str, subject: str, body: str, dedupe_key: str) -> None:
    """Add to the outbox once per dedupe key; a repeat is silently ignored."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Notification)
        .values(
            kind=kind,
            recipient=recipient,
            channel="email",
            subject=subject,
            body=body,
            dedupe_key=dedupe_key,
            status=NotificationStatus.PENDING,
            attempts=0,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    db.session.execute(statement)


def _send_email(note: Notification) -> None:
    config = current_app.config
    if not config["MAIL_SERVER"]:
        # The embedded default: mail is printed to the log.
        logger.info("mail", extra={"to": note.recipient, "subject": note.subject, "body": note.body})
        return
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = note.recipient
    message["Subject"] = note.subject
    message.set_content(note.body)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=20) as smtp:
        smtp.send_message(message)


def pending_notifications(limit: int = 50) -> list[int]:
    return list(
        db.session.scalars(
            select(Notification.id)
            .where(Notification.status == NotificationStatus.PENDING)
            .order_by(Notification.id)
            .limit(limit)
        )
    )


def deliver(notification_id: int) -> bool:
    """Send one waiting notification and record the outcome; True when it went out."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.status != NotificationStatus.PENDING:
        return False
    note.attempts += 1
    try:
        _send_email(note)
    except (OSError, smtplib.SMTPException) as exc:
        note.last_error = str(exc)[:500]
        if note.attempts >= MAX_ATTEMPTS:
            note.status = NotificationStatus.FAILED
        logger.warning("mail failed", extra={"notification": note.id, "attempts": note.attempts})
        db.session.flush()
        return False
    note.status = NotificationStatus.SENT
    note.sent_at = utcnow()
    db.session.flush()
    return True
