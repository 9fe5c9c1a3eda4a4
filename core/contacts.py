"""How a donor can be reached: a mobile number or an e-mail address, checked the same way everywhere."""

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{5,18}[0-9]$")


def normalise_contact(value: str) -> tuple[str, str | None]:
    """A phone number or an e-mail address; returns (contact, email or None), or ValueError."""
    # Full-width digits and signs (１３９…, ＋８６) become ASCII; a phone keeps only its digits' form.
    value = unicodedata.normalize("NFKC", value or "").strip()
    if "@" in value:
        try:
            email = validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(_("That e-mail address is not valid.")) from exc
        return email, email
    if PHONE_RE.match(value):
        return value, None
    raise ValueError(_("Give a mobile number or an e-mail address."))


#: A mainland number written with its country code: +86 139…, 0086 139…, 86 139….
_CHINA_PREFIX = re.compile(r"^(?:0086|86)(1\d{10})$")


def contact_key(contact: str) -> str:
    """One key per person however the contact was typed: 139 1234 5678, +86-13912345678 and
    １３９１２３４５６７８ are one phone; e-mail addresses compare without case."""
    value = unicodedata.normalize("NFKC", contact or "").strip()
    if "@" in value:
        return value.lower()
    digits = re.sub(r"[^0-9]", "", value)
    match = _CHINA_PREFIX.match(digits)
    return match.group(1) if match else digits
