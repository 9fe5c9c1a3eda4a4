"""What the public lists count: wishes per status, per place and per category, kept per process.

Every list page shows the tab counts, the district menu and its own total, and these used to
scan the wishes on every render. They change only when the public catalogue version
(core/cache.py) changes, so each process keeps one summary per database, filed under the
version it was computed at, and computes it again once that version has moved on.

The summary reads the version in the same statement as the counts, so both come from one
snapshot: a summary is never filed under a version its counts do not belong to, however
the statement interleaves with commits, on PostgreSQL or SQLite.

A place is a (district, street) pair, shown to the public as `Child.public_district`.
"""

import threading
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import String, and_, bindparam, cast, false, func, null, or_, select, union_all

from core import cache
from core.database import database_key
from core.extensions import db
from wishes.models import PUBLIC_WISH_STATUSES, Child, Wish

Place = tuple[str, str]


def squeeze(text: str) -> str:
    """A place name without any whitespace: "崂山区 王哥庄街道" and "崂山区王哥庄街道" are one place."""
    return "".join(text.split())


def public_place(district: str, street: str) -> str:
    """The place as the public sees it; the same string as `Child.public_district`."""
    return f"{district}{street}"


@dataclass(frozen=True)
class District:
    """One entry of the district menu: the district and the public names of its streets."""

    name: str
    places: tuple[str, ...]


@dataclass
class Summary:
    version: int | None
    #: (status, district, street, category) -> wishes
    groups: dict[tuple[str, str, str, str], int]
    counts: dict[str, int] = field(init=False)
    places: frozenset[Place] = field(init=False)
    districts: tuple[District, ...] = field(init=False)
    #: squeezed public place or squeezed district -> the places it names
    _by_name: dict[str, frozenset[Place]] = field(init=False, repr=False)
    #: squeezed street -> the places of that name
    _by_street: dict[str, frozenset[Place]] = field(init=False, repr=False)

    def __post_init__(self):
        counts: dict[str, int] = defaultdict(int)
        streets: dict[str, set[str]] = defaultdict(set)
        for (status, district, street, _category), n in self.groups.items():
            counts[status] += n
            streets[district].add(street)
        self.counts = dict(counts)
        self.places = frozenset((d, s) for d, names in streets.items() for s in names)
        self.districts = tuple(
            District(d, tuple(public_place(d, s) for s in sorted(streets[d]))) for d in sorted(streets)
        )
        by_name: dict[str, set[Place]] = defaultdict(set)
        by_street: dict[str, set[Place]] = defaultdict(set)
        for d, s in self.places:
            by_name[squeeze(public_place(d, s))].add((d, s))
            by_name[squeeze(d)].add((d, s))
            by_street[squeeze(s)].add((d, s))
        self._by_name = {k: frozenset(v) for k, v in by_name.items()}
        self._by_street = {k: frozenset(v) for k, v in by_street.items()}

    def places_for(self, district: str | None, street: str | None) -> frozenset[Place] | None:
        """The places a district filter names: a public place ("崂山区王哥庄街道"), a district
        alone (all its streets), optionally narrowed by a street. None when there is no
        place filter; an empty set when the filter names no place that has public wishes."""
        if not district and not street:
            return None
        found = self.places
        if district:
            found = found & self._by_name.get(squeeze(district), frozenset())
        if street:
            found = found & self._by_street.get(squeeze(street), frozenset())
        return found

    def total(self, status: str, places: frozenset[Place] | None, category: str | None) -> int:
        if places is None and category is None:
            return self.counts.get(status, 0)
        return sum(
            n
            for (s, district, street, c), n in self.groups.items()
            if s == status and (places is None or (district, street) in places) and (category is None or c == category)
        )


def place_values(places: frozenset[Place]) -> tuple[tuple[int, ...], dict[str, str]]:
    """The values of a place filter for `place_condition`: the condition's shape (how many
    streets each district has, districts in order) and the named values that fill it."""
    streets: dict[str, list[str]] = defaultdict(list)
    for district, street in places:
        streets[district].append(street)
    shape, values = [], {}
    for i, (district, names) in enumerate(sorted(streets.items())):
        shape.append(len(names))
        values[f"district_{i}"] = district
        values.update({f"street_{i}_{j}": name for j, name in enumerate(sorted(names))})
    return tuple(shape), values


def place_condition(shape: tuple[int, ...]):
    """SQL for "the child lives in one of these places", on the children table, with the
    named parameters that `place_values` fills; the same SQL for every filter of one shape."""
    if not shape:
        return false()
    children = Child.__table__.c
    return or_(
        *(
            and_(
                children.district == bindparam(f"district_{i}"),
                children.street.in_([bindparam(f"street_{i}_{j}") for j in range(streets)]),
            )
            for i, streets in enumerate(shape)
        )
    )


def _compute() -> Summary:
    version = select(
        cast(null(), String),
        cast(null(), String),
        cast(null(), String),
        cast(null(), String),
        cache.public_catalogue.c.version,
    ).where(cache.public_catalogue.c.id == 1)
    groups = (
        select(Wish.status, Child.district, Child.street, Wish.category, func.count())
        .join(Child, Child.id == Wish.child_id)
        .where(Wish.status.in_(PUBLIC_WISH_STATUSES))
        .group_by(Wish.status, Child.district, Child.street, Wish.category)
    )
    found_version = None
    counted = {}
    # One statement, so one snapshot: the version row first, then the groups.
    for status, district, street, category, n in db.session.execute(union_all(version, groups)):
        if status is None:
            found_version = n
        else:
            counted[(status, district, street, category)] = n
    return Summary(found_version, counted)


_latest: dict[object, Summary] = {}
_lock = threading.Lock()


def summary() -> Summary:
    """The summary of the committed catalogue, from this process's copy while the version stands."""
    key = database_key(db.engine)
    version = cache.current_version()
    found = _latest.get(key)
    if found is not None and version is not None and found.version == version:
        return found
    fresh = _compute()
    if fresh.version is not None:
        with _lock:
            _latest[key] = fresh
    return fresh
