"""Donor accounts.

Signing up never tells the visitor whether an address already has an account: both
answers are "check your e-mail". A new address gets a signed link; the page it opens asks
for the password and creates the account. An address with an account gets a note saying
that someone tried to register with it. Nothing is stored until the link is followed, so
nobody can hold an address they cannot read mail at.

The link is signed, not encrypted: anyone who sees it (a mail provider, a forwarded mail)
can read what it carries, so it carries nothing secret: the address, the names and the
kind of donor, never a password or its hash.
"""

import hashlib

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from core import audit
from core.clock import utcnow
from core.errors import DomainError, ValidationError
from core.extensions import db
from core.models import Role, User
from core.outbox import queue_notification
from core.services import check_account_fields, create_user, find_user
from core.urls import public_url
from donors.models import DonorKind, DonorProfile

_SALT = "donor-registration"


class RegistrationLinkInvalid(DomainError):
    pass


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def _check_kind(kind: str) -> str:
    try:
        return DonorKind(kind).value
    except ValueError:
        raise ValidationError(fields={"kind": _("Choose individual, couple or organisation.")}) from None


def register_donor(*, email: str, password: str, display_name: str, kind: str, public_name: str | None) -> User:
    kind = _check_kind(kind)
    user = create_user(email, password, display_name, roles=[Role.DONOR], actor="self-registration")
    profile = DonorProfile(user=user, kind=kind, public_name=(public_name or "").strip() or None)
    db.session.add(profile)
    db.session.flush()
    audit.record("donor.registered", user, user, after={"kind": kind})
    return user


def start_registration(*, email: str, display_name: str, kind: str, public_name: str | None) -> None:
    """Mail the address its next step; the visitor sees the same outcome whether or not it has an account.

    Both paths look the address up and queue one message; the view answers both in the same
    steady time besides (core.auth.steady_answer_time).
    """
    kind = _check_kind(kind)
    email = (email or "").strip().lower()
    fields = check_account_fields(email, None, display_name)
    if fields:
        raise ValidationError(fields=fields)
    owner = find_user(email)
    if owner is not None:
        queue_notification(
            kind="registration_existing",
            recipient=owner.email,
            subject=_("Someone tried to create an account with your e-mail"),
            body=_(
                "Someone tried to create a new 微心愿 account with this e-mail address. You already have one: "
                "sign in at %(url)s. If it was not you, you can ignore this message; your account has not changed.",
                url=public_url("core.login"),
            ),
            dedupe_key=f"register-existing:{owner.id}:{utcnow():%Y%m%d%H}",
        )
        return
    token = _serializer().dumps({"e": email, "n": display_name.strip(), "k": kind, "p": (public_name or "").strip()})
    hours = current_app.config["REGISTRATION_LINK_HOURS"]
    queue_notification(
        kind="registration_confirm",
        recipient=email,
        subject=_("Confirm your 微心愿 account"),
        body=_(
            "Follow this link within %(hours)d hours to choose your password and create your donor account: %(url)s "
            "If you did not ask for an account, ignore this message and none will be made.",
            hours=hours,
            url=public_url("donors.confirm_registration", token=token),
        ),
        dedupe_key="register:" + hashlib.sha256(token.encode()).hexdigest()[:40],
    )


def read_registration(token: str) -> dict:
    """What a registration link describes, while it is fresh and untampered."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["REGISTRATION_LINK_HOURS"] * 3600)
    except SignatureExpired:
        raise RegistrationLinkInvalid(_("This link has expired. Please register again.")) from None
    except BadSignature:
        raise RegistrationLinkInvalid(_("This link is not valid. Please register again.")) from None
    if not isinstance(data, dict) or not all(isinstance(data.get(key), str) for key in ("e", "n", "k", "p")):
        raise RegistrationLinkInvalid(_("This link is not valid. Please register again."))
    return data


def confirm_registration(token: str, password: str) -> User | None:
    """Create the account a registration link describes, with the password chosen on its page.

    None when the account exists already: the link was used before, so it creates nothing and
    sets no password.
    """
    data = read_registration(token)
    if find_user(data["e"]) is not None:
        return None
    try:
        with db.session.begin_nested():
            return register_donor(
                email=data["e"],
                password=password,
                display_name=data["n"],
                kind=data["k"],
                public_name=data["p"] or None,
            )
    except IntegrityError:
        # The same link followed twice at once: the other request made the account.
        return None
    except ValidationError as exc:
        # The other request committed the account between the look above and this one's insert.
        if "email" in exc.fields and find_user(data["e"]) is not None:
            return None
        raise
