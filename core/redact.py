"""Masking secrets and contact details in anything written to a log.

A manage link's token is as good as the claim itself, and a donor's address or phone is
theirs alone: neither belongs in a log line, which many people and tools read.
"""

import re

_MANAGE_TOKEN = re.compile(r"(/claims/manage/)[A-Za-z0-9_\-]+")
#: A registration link creates an account for whoever follows it first (donors.services).
_REGISTRATION_TOKEN = re.compile(r"(/register/confirm/)[A-Za-z0-9_\-.]+")
#: A password-reset link sets the account's password (core.services.reset_password).
_RESET_TOKEN = re.compile(r"(/password/reset/)[A-Za-z0-9_\-.]+")
_EMAIL = re.compile(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+)")
#: Mainland mobile numbers, with or without +86 and separators, in ASCII or full-width digits.
_PHONE = re.compile(
    r"(?<![0-9０-９])((?:\+?86[\s\-]?)?[1１][3-9３-９][0-9０-９])[0-9０-９\s\-]{4,9}([0-9０-９]{4})(?![0-9０-９])"
)


#: Paths whose last part is a secret: whoever holds it manages a claim, creates an account, sets a password,
#: answers a reminder, logs a volunteer's contact or changes someone's mail preferences.
SECRET_PATHS = (
    "/claims/manage/",
    "/register/confirm/",
    "/password/reset/",
    "/reminder/",
    "/volunteer/",
    "/mail/preferences/",
)


#: The signed links of reminders, volunteers' logs and mail preferences, wherever they appear in a text.
_OTHER_SECRET_LINK = re.compile(r"(/reminder/|/volunteer/|/mail/preferences/)[A-Za-z0-9_\-.]+")


def mask_path(path: str) -> str:
    """A request path fit for a log line: the secret part of a manage, registration or reset link masked."""
    for prefix in SECRET_PATHS:
        if path.startswith(prefix):
            return prefix + "…"
    return path


def mask_email(address: str) -> str:
    """w***@example.org: the first character and the domain, enough to tell two apart."""
    local, at, domain = (address or "").partition("@")
    return f"{local[:1]}***@{domain}" if at else "***"


def mask_text(text: str) -> str:
    """The text with manage, registration and reset tokens, e-mail addresses and mobile numbers masked."""
    text = _MANAGE_TOKEN.sub(r"\1…", text or "")
    text = _REGISTRATION_TOKEN.sub(r"\1…", text)
    text = _RESET_TOKEN.sub(r"\1…", text)
    text = _OTHER_SECRET_LINK.sub(r"\1…", text)
    text = _EMAIL.sub(r"\1***@\2", text)
    return _PHONE.sub(r"\1****\2", text)
