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
    phone = mobile_number(value)
    if phone is not None:
        return phone, None
    raise ValueError(
        _("Give a mobile number (11 digits starting with 1, or a +852, +853 or +886 number) or an e-mail address.")
    )


#: A mainland mobile number: 11 digits, 13x to 19x.
_MAINLAND_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
#: Mobile numbers of Hong Kong, Macao and Taiwan after their country codes (Taiwan's leading 0 dropped).
_REGION_MOBILE = {
    "852": re.compile(r"^[4-9][0-9]{7}$"),
    "853": re.compile(r"^6[0-9]{7}$"),
    "886": re.compile(r"^9[0-9]{8}$"),
}


def mobile_number(value: str) -> str | None:
    """A real mobile number in one written form, or None.

    Mainland numbers are kept as their 11 digits (+86 and 0086 dropped); Hong Kong, Macao and
    Taiwan numbers as "+852 91234567". Spaces, dashes, dots and brackets between digits are
    allowed; full-width digits are folded by the caller (NFKC)."""
    compact = re.sub(r"[\s\-().]", "", value)
    if not re.fullmatch(r"\+?[0-9]{8,16}", compact):
        return None
    international = compact.startswith(("+", "00"))
    digits = compact.lstrip("+")
    if digits.startswith("00"):
        digits = digits[2:]
    if not international and _MAINLAND_MOBILE.match(digits):
        return digits
    for code in ("852", "853", "886", "86"):
        if not digits.startswith(code):
            continue
        rest = digits[len(code) :]
        if code == "86":
            return rest if _MAINLAND_MOBILE.match(rest) else None
        if code == "886" and rest.startswith("0"):
            rest = rest[1:]
        return f"+{code} {rest}" if _REGION_MOBILE[code].match(rest) else None
    return None


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
