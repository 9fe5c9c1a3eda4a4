"""Read-only queries behind the public list and the API."""

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import bindparam, false, func, select
from sqlalchemy.orm import contains_eager, lazyload, selectinload

from core.database import driver_rows
from core.extensions import db
from wishes import catalogue, search
from wishes.models import PUBLIC_WISH_STATUSES, Child, Claim, ClaimStatus, Wish, WishCategory, WishStatus

# The tables' own columns rather than the ORM's attributes: the list runs these on every
# render, and plain columns are cheaper to build into a statement and to key its cache.
_wishes = Wish.__table__.c
_children = Child.__table__.c

SORTS = {
    "newest": (_wishes.published_at.desc(), _wishes.id.desc()),
    "soonest": (_wishes.needed_by.asc(), _wishes.id.asc()),
    "cost_asc": (_wishes.amount_fen.asc(), _wishes.id.asc()),
    "cost_desc": (_wishes.amount_fen.desc(), _wishes.id.desc()),
}


@dataclass(frozen=True)
class WishFilter:
    #: A place as the public sees it ("崂山区王哥庄街道"), or a district alone ("崂山区").
    district: str | None = None
    street: str | None = None
    category: str | None = None
    status: str = WishStatus.PUBLISHED
    max_amount_fen: int | None = None
    min_amount_fen: int | None = None
    sort: str = "newest"
    #: Words to find in the wishes' titles and stories (wishes/search.py).
    q: str | None = None


@dataclass
class Page:
    #: Wish models (public_wishes) or card rows (public_cards)
    items: list
    page: int
    per_page: int
    total: int

    @property
    def more_than(self) -> int | None:
        """For a search that matched more than it counted, the count it stopped at."""
        return search.COUNT_CAP if self.total > search.COUNT_CAP else None

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class _Where(NamedTuple):
    #: What the conditions' SQL depends on: which filters are set, and the place filter's shape.
    shape: tuple
    #: The named values of the conditions' parameters.
    values: dict
    #: The total when the catalogue summary already knows it (every filter but the amounts).
    total: int | None


def _where(f: WishFilter, summary: catalogue.Summary) -> _Where:
    """A filter as the shape of its conditions (`_conditions`) and the values that fill them."""
    if f.status not in PUBLIC_WISH_STATUSES:
        return _Where((False,), {}, 0)
    values: dict = {"status": f.status}
    category = f.category if f.category in WishCategory.__members__.values() else None
    if category:
        values["category"] = category
    # The place is the child's, as every public answer shows it, never a copy on the wish.
    places = summary.places_for(f.district, f.street)
    place_shape = None
    if places is not None:
        place_shape, place_values = catalogue.place_values(places)
        values.update(place_values)
    if f.max_amount_fen is not None:
        values["max_amount_fen"] = f.max_amount_fen
    if f.min_amount_fen is not None:
        values["min_amount_fen"] = f.min_amount_fen
    found = search.query_terms(f.q) if f.q else ()
    values.update(search.term_values(found))
    words = tuple(prefix for _term, prefix in found)
    shape = (True, bool(category), place_shape, f.max_amount_fen is not None, f.min_amount_fen is not None, words)
    known = f.max_amount_fen is None and f.min_amount_fen is None and not words
    return _Where(shape, values, summary.total(f.status, places, category) if known else None)


@lru_cache(maxsize=512)
def _conditions(shape: tuple) -> tuple:
    """The SQL conditions of one shape of filter, with named parameters: built once per shape,
    since composing them cost the list more than running its query."""
    if not shape[0]:
        return (false(),)
    _public, category, places, max_amount, min_amount, words = shape
    conditions = [_wishes.status == bindparam("status")]
    if category:
        conditions.append(_wishes.category == bindparam("category"))
    if places is not None:
        conditions.append(catalogue.place_condition(places))
    if max_amount:
        conditions.append(_wishes.amount_fen <= bindparam("max_amount_fen"))
    if min_amount:
        conditions.append(_wishes.amount_fen >= bindparam("min_amount_fen"))
    if words:
        first = search.driver_term(words)
        conditions.extend(
            search.term_condition(_wishes.id, prefix, f"term{n}") for n, prefix in enumerate(words) if n != first
        )
    return tuple(conditions)


def _from(shape: tuple, child: bool):
    """The wishes (with their children) to read, starting from the search's first term's wishes
    when there is a search."""
    source = Wish.__table__
    if shape[0] and shape[-1] and search.driver_term(shape[-1]) is not None:
        found = search.driver(shape[-1])
        source = found.join(source, _wishes.id == found.c.wish_id)
    if child:
        source = source.join(Child.__table__, _children.id == _wishes.child_id)
    return source


def _count(shape: tuple):
    source = _from(shape, child=bool(shape[0] and shape[2] is not None))
    if shape[0] and shape[-1]:
        # A search counts to one past search.COUNT_CAP: enough to say "more than".
        found = select(_wishes.id).select_from(source).where(*_conditions(shape)).limit(search.COUNT_CAP + 1)
        return select(func.count()).select_from(found.subquery("counted"))
    return select(func.count()).select_from(source).where(*_conditions(shape))


def _window(query, f: WishFilter, page: int, per_page: int):
    return query.order_by(*SORTS.get(f.sort, SORTS["newest"])).limit(per_page).offset((page - 1) * per_page)


def public_wishes(f: WishFilter, page: int, per_page: int) -> Page:
    """A page of public wishes as models, for the API."""
    where = _where(f, catalogue.summary())
    total = where.total
    if total is None:
        total = db.session.scalar(_count(where.shape), where.values)
    # The list joins only the child, and loads the claims in one more query where a wish
    # names the donor.
    query = select(Wish)
    if where.shape[0] and where.shape[-1] and search.driver_term(where.shape[-1]) is not None:
        found = search.driver(where.shape[-1])
        query = query.select_from(found).join(Wish, Wish.id == found.c.wish_id)
    query = (
        query.join(Child, Child.id == Wish.child_id)
        .where(*_conditions(where.shape))
        .options(contains_eager(Wish.child), lazyload(Wish.fund))
    )
    if f.status in (WishStatus.FULFILLED, WishStatus.CLOSED):
        query = query.options(selectinload(Wish.claims))
    items = db.session.scalars(_window(query, f, page, per_page), where.values)
    return Page(list(items), page, per_page, total)


class CardRow(NamedTuple):
    """What a wish card on the list page shows, as read: the wish and its child."""

    public_id: str
    title: str
    category: str
    amount_fen: int
    currency: str
    needed_by: date
    status: str
    alias: str
    birth_date: date
    district: str
    street: str


#: The children's columns among them; the others are the wish's.
_CHILD_FIELDS = ("alias", "birth_date", "district", "street")
_CARD_COLUMNS = tuple((_children if name in _CHILD_FIELDS else _wishes)[name] for name in CardRow._fields)


@lru_cache(maxsize=512)
def _card_query(shape: tuple, sort: str):
    """The card query of one shape of filter and one sort, with named parameters; built once."""
    return (
        select(*_CARD_COLUMNS)
        .select_from(_from(shape, child=True))
        .where(*_conditions(shape))
        .order_by(*SORTS[sort])
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


def _card_rows(shape: tuple, sort: str, values: dict) -> list[CardRow]:
    """The card rows of one page, read through the driver (core.database.driver_rows)."""
    return [CardRow._make(row) for row in driver_rows(db.engine, db.session, _card_query(shape, sort), values)]


def public_cards(f: WishFilter, page: int, per_page: int, summary: catalogue.Summary | None = None) -> Page:
    """A page of public wishes as plain rows of what a card shows, for the list page, which
    passes the catalogue summary it shows as well.

    Rows rather than models through the ORM: building twelve Wish and Child objects cost the
    page more than its query did."""
    where = _where(f, summary or catalogue.summary())
    total = where.total
    if total is None:
        total = _rows(_count(where.shape), where.values)[0][0]
    sort = f.sort if f.sort in SORTS else "newest"
    rows = _card_rows(where.shape, sort, {**where.values, "limit": per_page, "offset": (page - 1) * per_page})
    return Page(rows, page, per_page, total)


def _rows(statement, values: dict) -> list:
    """The rows of one read-only statement.

    On PostgreSQL on an autocommit connection: one statement reads one snapshot anyway, and
    the request's session would wrap it in a BEGIN and a ROLLBACK, two more round trips and
    most of SQLAlchemy's cost for this page. SQLite reads in process, through the session."""
    if db.engine.dialect.name != "postgresql":
        return db.session.connection().execute(statement, values).all()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(statement, values).all()


def open_wishes_near(wish, limit: int = 3) -> list[CardRow]:
    """Open wishes of children in the same district, newest first, for a thank-you page to lead on to."""
    page = public_cards(WishFilter(district=wish.child.district), 1, limit + 1)
    return [row for row in page.items if row.public_id != wish.public_id][:limit]


def public_thanks_photo(public_id: str) -> str | None:
    """The stored name of a fulfilled wish's gift photo, when the caseworker chose to show it in public."""
    return db.session.scalar(
        select(Claim.thanks_photo)
        .join(Wish, Claim.wish_id == Wish.id)
        .where(
            Wish.public_id == public_id,
            Wish.status.in_((WishStatus.FULFILLED, WishStatus.CLOSED)),
            Claim.status == ClaimStatus.FULFILLED,
            Claim.thanks_photo_public.is_(True),
        )
    )
