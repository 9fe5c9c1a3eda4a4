"""Donor accounts.

Signing up never tells the visitor whether an address already has an account: both
answers are "check your e-mail". A new address gets a signed link that creates the
account when its owner follows it; an address with an account gets a note saying that
someone tried to register with it. Nothing is stored until the link is followed, so
nobody can hold an address they cannot read mail at.
"""

import hashlib

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from core import audit, models
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


def register_donor(
    *, email: str, password: str | None, display_name: str, kind: str, public_name: str | None, password_hash=None
) -> User:
    kind = _check_kind(kind)
    user = create_user(
        email, password, display_name, roles=[Role.DONOR], actor="self-registration", password_hash=password_hash
    )
    profile = DonorProfile(user=user, kind=kind, public_name=(public_name or "").strip() or None)
    db.session.add(profile)
    db.session.flush()
    audit.record("donor.registered", user, user, after={"kind": kind})
    return user


def start_registration(*, email: str, password: str, display_name: str, kind: str, public_name: str | None) -> None:
    """Mail the address its next step; the visitor sees the same outcome whether or not it has an account."""
    kind = _check_kind(kind)
    email = (email or "").strip().lower()
    fields = check_account_fields(email, password or "", display_name)
    if fields:
        raise ValidationError(fields=fields)
    # Hashed on both paths, so the answer takes as long for a taken address as for a free one.
    password_hash = models.generate_password_hash(password)
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
    token = _serializer().dumps(
        {"e": email, "h": password_hash, "n": display_name.strip(), "k": kind, "p": (public_name or "").strip()}
    )
    hours = current_app.config["REGISTRATION_LINK_HOURS"]
    queue_notification(
        kind="registration_confirm",
        recipient=email,
        subject=_("Confirm your 微心愿 account"),
        body=_(
            "Follow this link within %(hours)d hours to create your donor account: %(url)s "
            "If you did not ask for an account, ignore this message and none will be made.",
            hours=hours,
            url=public_url("donors.confirm_registration", token=token),
        ),
        dedupe_key="register:" + hashlib.sha256(token.encode()).hexdigest()[:40],
    )


def confirm_registration(token: str) -> User | None:
    """Create the account a registration link describes; None when it exists already (the link was used)."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["REGISTRATION_LINK_HOURS"] * 3600)
    except SignatureExpired:
        raise RegistrationLinkInvalid(_("This link has expired. Please register again.")) from None
    except BadSignature:
        raise RegistrationLinkInvalid(_("This link is not valid. Please register again.")) from None
    if find_user(data["e"]) is not None:
        return None
    try:
        with db.session.begin_nested():
            return register_donor(
                email=data["e"],
                password=None,
                password_hash=data["h"],
                display_name=data["n"],
                kind=data["k"],
                public_name=data["p"] or None,
            )
    except IntegrityError:
        # The same link followed twice at once: the other request made the account.
        return None
