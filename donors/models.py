"""A donor's own profile beside their account: individual, couple or organisation."""

import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models import User


class DonorKind(enum.StrEnum):
    INDIVIDUAL = "individual"
    COUPLE = "couple"
    ORGANISATION = "organisation"


DONOR_KIND_LABELS = {
    DonorKind.INDIVIDUAL: _l("Individual"),
    DonorKind.COUPLE: _l("Couple"),
    DonorKind.ORGANISATION: _l("Company or organisation"),
}


class DonorProfile(db.Model):
    __tablename__ = "donor_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default=DonorKind.INDIVIDUAL)
    #: Shown on public pages when the donor does not choose anonymity.
    public_name: Mapped[str | None] = mapped_column(String(30))

    user: Mapped[User] = relationship(backref=db.backref("donor_profile", uselist=False))
