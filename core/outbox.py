"""The notification outbox: rows written in the transaction that caused them, delivered after it commits.

Features queue a notification with a unique dedupe key inside their own transaction, so a
rolled-back change sends nothing and a repeated one sends once; the scheduler's delivery
job sends what is waiting, one commit per notification.

E-mail goes out here, over SMTP (smtplib) when MAIL_SERVER is set and to the log when it is
not; other channels (text messages) are delivered by a sender a package registers at
start-up (`register_sender`). A failed delivery is tried again later, each wait twice the
one before, and after MAX_ATTEMPTS it is marked failed where staff see it and can retry it.
"""

import contextvars
import enum
import logging
import smtplib
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app
from sqlalchemy import String, Text, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.database import insert_for
from core.extensions import db
from core.redact import mask_email, mask_text
from core.types import UTCDateTime

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
#: The wait before the second attempt; it doubles with each failure (1, 2, 4, 8 minutes).
FIRST_RETRY = timedelta(minutes=1)
#: app.extensions key: channel name -> callable(Notification) that delivers it or raises OSError.
SENDERS = "outbox.senders"


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
    #: The HTML part of a mail; the plain `body` is always there too.
    html_body: Mapped[str | None] = mapped_column(Text)
    #: Where the recipient stops this kind of mail (List-Unsubscribe); None for a claim's own messages.
    unsubscribe_url: Mapped[str | None] = mapped_column(String(500))
    #: A failed attempt waits until then before the next one.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def queue_notification(
    *,
    kind: str,
    recipient: str,
    subject: str,
    body: str,
    dedupe_key: str,
    channel: str = "email",
    html_body: str | None = None,
    unsubscribe_url: str | None = None,
) -> bool:
    """Add to the outbox once per dedupe key; a repeat is silently ignored. True when it was added."""
    statement = (
        insert_for(db.session)(Notification)
        .values(
            kind=kind,
            recipient=recipient,
            channel=channel,
            subject=subject,
            body=body,
            html_body=html_body,
            unsubscribe_url=unsubscribe_url,
            dedupe_key=dedupe_key,
            status=NotificationStatus.PENDING,
            attempts=0,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.id)
    )
    return db.session.execute(statement).scalar() is not None


def register_sender(app, channel: str, sender: Callable[[Notification], None]) -> None:
    app.extensions.setdefault(SENDERS, {})[channel] = sender


def build_message(note: Notification) -> EmailMessage:
    """A multipart mail (plain text, and HTML when there is one) with List-Unsubscribe where it applies."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = note.recipient
    message["Subject"] = note.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="weixinyuan.local")
    if note.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{note.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(note.body)
    if note.html_body:
        message.add_alternative(note.html_body, subtype="html")
    return message


def _send_email(note: Notification) -> None:
    config = current_app.config
    if not config["MAIL_SERVER"]:
        # The embedded default: mail is written to the log, its secrets and addresses masked.
        logger.info(
            "mail",
            extra={"to": mask_email(note.recipient), "subject": mask_text(note.subject), "body": mask_text(note.body)},
        )
        return
    message = build_message(note)
    batch = _batch.get()
    if batch is None:
        with _connect() as smtp:
            smtp.send_message(message)
        return
    if batch.get("smtp") is None:
        batch["smtp"] = _connect()
    try:
        batch["smtp"].send_message(message)
    except (OSError, smtplib.SMTPException):
        # The next message opens a fresh connection rather than reuse one in an unknown state.
        _close(batch.pop("smtp"))
        raise


def _connect() -> smtplib.SMTP:
    config = current_app.config
    smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=20)
    try:
        # A local relay needs neither; a provider's submission port wants both.
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    except BaseException:
        _close(smtp)
        raise
    return smtp


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


#: While deliver_pending runs: one SMTP connection for the whole batch, opened on first use.
_batch: contextvars.ContextVar[dict | None] = contextvars.ContextVar("smtp_batch", default=None)


def pending_notifications(limit: int = 50) -> list[int]:
    return list(
        db.session.scalars(
            select(Notification.id)
            .where(
                Notification.status == NotificationStatus.PENDING,
                or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= utcnow()),
            )
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
    sender = current_app.extensions.get(SENDERS, {}).get(note.channel, _send_email)
    try:
        sender(note)
    except (OSError, smtplib.SMTPException) as exc:
        note.last_error = mask_text(str(exc))[:500]
        if note.attempts >= MAX_ATTEMPTS:
            note.status = NotificationStatus.FAILED
        else:
            note.next_attempt_at = utcnow() + FIRST_RETRY * 2 ** (note.attempts - 1)
        logger.warning("mail failed", extra={"notification": note.id, "attempts": note.attempts})
        db.session.flush()
        return False
    note.status = NotificationStatus.SENT
    note.sent_at = utcnow()
    note.next_attempt_at = None
    db.session.flush()
    return True


def retry(notification_id: int) -> bool:
    """Put a notification that gave up back in the queue, with a fresh count of attempts."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.status != NotificationStatus.FAILED:
        return False
    note.status = NotificationStatus.PENDING
    note.attempts = 0
    note.next_attempt_at = None
    db.session.flush()
    return True


def deliver_pending() -> int:
    """Send the outbox, one commit per notification, so a failure never resends the others."""
    ids = pending_notifications()
    db.session.rollback()
    sent = 0
    token = _batch.set({})
    try:
        for notification_id in ids:
            sent += deliver(notification_id)
            db.session.commit()
    finally:
        _close(_batch.get().get("smtp"))
        _batch.reset(token)
    return sent
