"""Delivery stations: where a donor brings or posts a gift, found from the child's public place."""

from urllib.parse import quote

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.clock import utcnow
from core.contacts import PHONE_RE
from core.errors import Forbidden, NotFound, ValidationError
from core.extensions import db
from core.models import Role, User
from wishes.models import Station
from wishes.places import streets_known

#: The fields of a station, their longest lengths and labels; the optional ones may be empty.
FIELDS = {
    "district": (40, _l("District")),
    "street": (40, _l("Street")),
    "name": (80, _l("Station")),
    "address": (200, _l("Address")),
    "hours": (120, _l("Opening hours")),
    "contact_name": (60, _l("Contact")),
    "contact_phone": (32, _l("Contact's phone")),
    "postal_address": (200, _l("Postal address")),
    "postcode": (10, _l("Postcode")),
}
OPTIONAL = ("street", "postal_address", "postcode")


def station_for(district: str, street: str) -> Station | None:
    """The active station of the street, else the district's own."""
    rows = db.session.scalars(
        select(Station).where(Station.active.is_(True), Station.district == district, Station.street.in_((street, "")))
    ).all()
    return next((s for s in rows if s.street == street), None) or next((s for s in rows if s.street == ""), None)


def station_of_wish(wish) -> Station | None:
    return station_for(wish.child.district, wish.child.street)


def map_url(station: Station) -> str:
    """A map search for the station's address (Amap: it opens in the browser or the app)."""
    return "https://uri.amap.com/search?keyword=" + quote(f"{station.district}{station.address}")


def parcel_reference(claim) -> str:
    """What a donor writes on a parcel so that the station knows which wish it is for."""
    return f"微心愿 {claim.public_id}"


def all_stations() -> list[Station]:
    return list(db.session.scalars(select(Station).order_by(Station.district, Station.street)))


def get_station(station_id: int) -> Station:
    station = db.session.get(Station, station_id)
    if station is None:
        raise NotFound()
    return station


def _check_actor(actor: User) -> None:
    if not actor.has_role(Role.SUPERVISOR):
        raise Forbidden()


def _clean(data: dict) -> dict:
    fields, clean = {}, {}
    for name, (limit, label) in FIELDS.items():
        value = " ".join(str(data.get(name) or "").split())
        if not value and name not in OPTIONAL:
            fields[name] = _("Fill in %(field)s.", field=label)
        elif len(value) > limit:
            fields[name] = _("%(field)s may be at most %(n)d characters.", field=label, n=limit)
        clean[name] = value or (None if name in ("postal_address", "postcode") else "")
    if clean["contact_phone"] and not PHONE_RE.match(clean["contact_phone"]):
        fields["contact_phone"] = _("Give a phone number the donor can call.")
    if clean["district"] and "district" not in fields and not streets_known(clean["district"], clean["street"]):
        fields["street" if clean["street"] else "district"] = _(
            "This place is not on the list of places: a supervisor adds it first."
        )
    clean["active"] = bool(data.get("active", True))
    if fields:
        raise ValidationError(fields=fields)
    return clean


def _check_unique(clean: dict, station: Station | None = None) -> None:
    other = db.session.scalar(
        select(Station).where(Station.district == clean["district"], Station.street == clean["street"])
    )
    if other is not None and other is not station:
        raise ValidationError(fields={"street": _("This place has a station already: edit that one.")})


def create_station(actor: User, data: dict) -> Station:
    _check_actor(actor)
    clean = _clean(data)
    _check_unique(clean)
    station = Station(**clean, updated_at=utcnow())
    try:
        # Two supervisors adding one place's station at the same moment: the unique constraint decides.
        with db.session.begin_nested():
            db.session.add(station)
    except IntegrityError:
        raise ValidationError(fields={"street": _("This place has a station already: edit that one.")}) from None
    audit.record("station.created", station, actor, after={"place": station.place, "name": station.name})
    return station


def update_station(actor: User, station: Station, data: dict) -> Station:
    _check_actor(actor)
    clean = _clean(data)
    _check_unique(clean, station)
    before = {name: getattr(station, name) for name in clean}
    for name, value in clean.items():
        setattr(station, name, value)
    station.updated_at = utcnow()
    db.session.flush()
    changed = {name: value for name, value in clean.items() if before[name] != value}
    audit.record("station.updated", station, actor, before={k: before[k] for k in changed}, after=changed)
    return station
