"""The managed list of places (district, street, community) a child's file is given from."""

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.errors import Forbidden, ValidationError
from core.extensions import db
from core.models import Role, User
from wishes import pii
from wishes.models import Place


def all_places(active_only: bool = False) -> list[Place]:
    query = select(Place).order_by(Place.district, Place.street, Place.community)
    if active_only:
        query = query.where(Place.active.is_(True))
    return list(db.session.scalars(query))


def split(value: str | None) -> tuple[str, str, str]:
    """A place's form value ("district|street|community") as its three parts."""
    parts = (value or "").split("|")
    return (parts + ["", "", ""])[:3] if len(parts) <= 3 else ("", "", "")


def is_known(district: str, street: str, community: str | None) -> bool:
    return (
        db.session.scalar(
            select(Place.id).where(
                Place.district == district,
                Place.street == street,
                Place.community == (community or ""),
                Place.active.is_(True),
            )
        )
        is not None
    )


def streets_known(district: str, street: str = "") -> bool:
    """Whether the district (and the street, when given) is on the list: for stations."""
    query = select(Place.id).where(Place.district == district, Place.active.is_(True))
    if street:
        query = query.where(Place.street == street)
    return db.session.scalar(query.limit(1)) is not None


def add_place(actor: User, district: str, street: str, community: str = "") -> Place:
    if not actor.has_role(Role.SUPERVISOR):
        raise Forbidden()
    district, street, community = (" ".join((v or "").split()) for v in (district, street, community))
    fields = {}
    for name, value, limit in (("district", district, 40), ("street", street, 40), ("community", community, 60)):
        if name != "community" and not value:
            fields[name] = _("Fill this in.")
        elif len(value) > limit:
            fields[name] = _("At most %(n)d characters.", n=limit)
    for name, value in (("district", district), ("street", street)):
        refusal = pii.public_field_refusal(value) if value and name not in fields else None
        if refusal:
            fields[name] = refusal
    if not fields and db.session.scalar(
        select(Place.id).where(Place.district == district, Place.street == street, Place.community == community)
    ):
        fields["community"] = _("This place is on the list already.")
    if fields:
        raise ValidationError(fields=fields)
    place = Place(district=district, street=street, community=community, active=True)
    try:
        # Two supervisors adding one place at the same moment: the unique constraint decides.
        with db.session.begin_nested():
            db.session.add(place)
    except IntegrityError:
        raise ValidationError(fields={"community": _("This place is on the list already.")}) from None
    audit.record("place.added", place, actor, after={"place": place.label})
    return place


def ensure_place(district: str, street: str, community: str = "") -> Place:
    """The place, added to the list if missing: for seeding and imports, not for people."""
    place = db.session.scalar(
        select(Place).where(Place.district == district, Place.street == street, Place.community == (community or ""))
    )
    if place is None:
        place = Place(district=district, street=street, community=community or "", active=True)
        db.session.add(place)
        db.session.flush()
    return place
