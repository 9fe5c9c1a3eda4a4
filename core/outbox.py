"""The notification outbox: rows written in the transaction that caused them, delivered after it commits.

Features queue a notification with a unique dedupe key inside their own transaction, so a
rolled-back change sends nothing and a repeated one sends once; the scheduler's delivery
job sends what is waiting, one commit per notification.
"""

import enum
import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.database import insert_for
from core.extensions import db
from core.redact import mask_email, mask_text
from core.types import UTCDateTime

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    channel: Mapped[str] = mapped_column(String(20), default="email")
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    #: One notification per (event, recipient) however often the event is seen.
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=NotificationStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def queue_notification(*, kind: str, recipient: str, subject: str, body: str, dedupe_key: str) -> None:
    """Add to the outbox once per dedupe key; a repeat is silently ignored."""
    statement = (
        insert_for(db.session)(Notification)
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
        # The embedded default: mail is written to the log, its secrets and addresses masked.
        logger.info(
            "mail",
            extra={"to": mask_email(note.recipient), "subject": mask_text(note.subject), "body": mask_text(note.body)},
        )
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


def deliver_pending() -> int:
    """Send the outbox, one commit per notification, so a failure never resends the others."""
    ids = pending_notifications()
    db.session.rollback()
    sent = 0
    for notification_id in ids:
        sent += deliver(notification_id)
        db.session.commit()
    return sent
