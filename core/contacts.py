"""How a donor can be reached: a mobile number or an e-mail address, checked the same way everywhere."""

import re

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{5,18}[0-9]$")


def normalise_contact(value: str) -> tuple[str, str | None]:
    """A phone number or an e-mail address; returns (contact, email or None), or ValueError."""
    value = (value or "").strip()
    if "@" in value:
        try:
            email = validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(_("That e-mail address is not valid.")) from exc
        return email, email
    if PHONE_RE.match(value):
        return value, None
    raise ValueError(_("Give a mobile number or an e-mail address."))
