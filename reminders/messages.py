"""Composing a message in its recipient's language and putting it in the outbox.

Every message is written with `force_locale` in the language of the person it is for (a
donor's is the one they claimed in, a staff member's or volunteer's the one they chose),
has a plain-text and an HTML part, and absolute links on PUBLIC_BASE_URL. Messages that are
not about a donor's own claim carry an unsubscribe link and a List-Unsubscribe header, and
are not queued at all for an address that unsubscribed.
"""

import logging
import re
from dataclasses import dataclass, field

from flask import current_app, render_template
from flask_babel import force_locale
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from core import audit
from core.clock import utcnow
from core.extensions import db
from core.outbox import Notification, queue_notification
from core.redact import mask_text
from core.urls import public_url
from reminders.models import MailPreference

logger = logging.getLogger(__name__)

LOCALES = ("zh_CN", "en")


@dataclass
class Message:
    subject: str
    #: Paragraphs of plain text.
    paragraphs: list[str]
    #: (label, absolute url) pairs shown as buttons in HTML and as lines in plain text.
    links: list[tuple[str, str]] = field(default_factory=list)
    #: Rows of a table (digests), each a list of cells.
    rows: list[list[str]] = field(default_factory=list)


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def sign(salt: str, payload) -> str:
    return _serializer(salt).dumps(payload)


def unsign(salt: str, token: str, max_age: int | None = None):
    """The payload of a signed link, or None when it was forged, changed or is too old."""
    if not token or len(token) > 400:
        return None
    try:
        return _serializer(salt).loads(token, max_age=max_age)
    except BadSignature:
        return None


def preference(address: str) -> MailPreference | None:
    if not address:
        return None
    return db.session.scalar(select(MailPreference).where(MailPreference.address == address.strip().lower()))


def set_preferences(address: str, *, locale: str | None = None, subscribed: bool | None = None) -> MailPreference:
    """A recipient's choice, from the signed link in their mail; recorded in the audit trail."""
    address = address.strip().lower()
    pref = preference(address)
    if pref is None:
        pref = MailPreference(address=address)
        db.session.add(pref)
    before = {"locale": pref.locale, "subscribed": pref.unsubscribed_at is None}
    if locale in LOCALES:
        pref.locale = locale
    if subscribed is not None:
        pref.unsubscribed_at = None if subscribed else (pref.unsubscribed_at or utcnow())
    db.session.flush()
    after = {"locale": pref.locale, "subscribed": pref.unsubscribed_at is None}
    audit.record("mail.preferences", pref, "recipient", before=before, after=after)
    return pref


def address_from_link(token: str) -> str | None:
    address = unsign("mail-preferences", token)
    return address if isinstance(address, str) and "@" in address else None


def locale_for(address: str | None, fallback: str | None = None) -> str:
    pref = preference(address) if address else None
    if pref is not None and pref.locale in LOCALES:
        return pref.locale
    return fallback if fallback in LOCALES else current_app.config["BABEL_DEFAULT_LOCALE"]


def unsubscribed(address: str) -> bool:
    pref = preference(address)
    return pref is not None and pref.unsubscribed_at is not None


def unsubscribed_among(addresses) -> set[str]:
    wanted = {a.strip().lower() for a in addresses if a}
    if not wanted:
        return set()
    return set(
        db.session.scalars(
            select(MailPreference.address).where(
                MailPreference.address.in_(wanted), MailPreference.unsubscribed_at.is_not(None)
            )
        )
    )


def preferences_url(address: str) -> str:
    return public_url("reminders.mail_preferences", token=sign("mail-preferences", address.strip().lower()))


def render_plain(message: Message, unsubscribe_url: str | None) -> str:
    parts = list(message.paragraphs)
    parts.extend(" | ".join(row) for row in message.rows)
    parts.extend(f"{label}:\n{url}" for label, url in message.links)
    text = "\n\n".join(parts)
    if unsubscribe_url:
        text += "\n\n-- \n" + _unsubscribe_line() + "\n" + unsubscribe_url
    return text


def _unsubscribe_line() -> str:
    from flask_babel import gettext as _

    return _("To stop these messages or choose their language:")


def queue_mail(
    *, kind: str, address: str, locale: str, compose, dedupe_key: str, about_own_claim: bool = False
) -> bool:
    """Compose (a callable returning a Message) in the recipient's language and queue it once.

    Mail not about the recipient's own claim is not queued to an address that unsubscribed.
    """
    if not about_own_claim and unsubscribed(address):
        return False
    with force_locale(locale):
        message = compose()
        unsubscribe_url = None if about_own_claim else preferences_url(address)
        body = render_plain(message, unsubscribe_url)
        html = render_template(
            "reminders/mail.html",
            message=message,
            unsubscribe_url=unsubscribe_url,
            unsubscribe_line=_unsubscribe_line(),
        )
    return queue_notification(
        kind=kind,
        recipient=address,
        subject=message.subject,
        body=body,
        html_body=html,
        unsubscribe_url=unsubscribe_url,
        dedupe_key=dedupe_key,
    )


def queue_text(*, kind: str, phone: str, locale: str, compose, dedupe_key: str) -> bool:
    """A text message (a donor who gave only a phone number): one short paragraph and the link."""
    with force_locale(locale):
        message = compose()
        body = " ".join(message.paragraphs[:1] + [url for _label, url in message.links[:1]])
    return queue_notification(
        kind=kind, recipient=phone, subject=message.subject, body=body, dedupe_key=dedupe_key, channel="sms"
    )


_LINK = re.compile(r"https?://\S+")


def log_text_message(note: Notification) -> None:
    """The default text-message sender: the log, with the number masked and links left out (they are keys)."""
    logger.info("text message", extra={"to": mask_text(note.recipient), "body": _LINK.sub("…", mask_text(note.body))})
