"""Donor accounts."""

from flask_babel import gettext as _

from core import audit
from core.errors import ValidationError
from core.extensions import db
from core.models import Role, User
from core.services import create_user
from donors.models import DonorKind, DonorProfile


def register_donor(*, email: str, password: str, display_name: str, kind: str, public_name: str | None) -> User:
    try:
        kind = DonorKind(kind).value
    except ValueError:
        raise ValidationError(fields={"kind": _("Choose individual, couple or organisation.")}) from None
    user = create_user(email, password, display_name, roles=[Role.DONOR], actor="self-registration")
    profile = DonorProfile(user=user, kind=kind, public_name=(public_name or "").strip() or None)
    db.session.add(profile)
    db.session.flush()
    audit.record("donor.registered", user, user, after={"kind": kind})
    return user
