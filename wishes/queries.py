"""Read-only queries behind the public list and the API."""

from dataclasses import dataclass

from sqlalchemy import false, func, select
from sqlalchemy.orm import contains_eager, lazyload, selectinload

from core.extensions import db
from wishes import catalogue
from wishes.models import PUBLIC_WISH_STATUSES, Child, Wish, WishCategory, WishStatus

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


@dataclass
class Page:
    #: Wish models (public_wishes) or card rows (public_cards)
    items: list
    page: int
    per_page: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _where(f: WishFilter, summary: catalogue.Summary) -> tuple[list, bool, int | None]:
    """The conditions of a filter, whether they need the children table, and the total
    when the catalogue summary already knows it (every filter but the amounts)."""
    if f.status not in PUBLIC_WISH_STATUSES:
        return [false()], False, 0
    conditions = [_wishes.status == f.status]
    category = f.category if f.category in WishCategory.__members__.values() else None
    if category:
        conditions.append(_wishes.category == category)
    # The place is the child's, as every public answer shows it, never a copy on the wish.
    places = summary.places_for(f.district, f.street)
    if places is not None:
        conditions.append(catalogue.place_condition(places))
    if f.max_amount_fen is not None:
        conditions.append(_wishes.amount_fen <= f.max_amount_fen)
    if f.min_amount_fen is not None:
        conditions.append(_wishes.amount_fen >= f.min_amount_fen)
    known = f.max_amount_fen is None and f.min_amount_fen is None
    return conditions, places is not None, summary.total(f.status, places, category) if known else None


def _count(conditions: list, by_place: bool):
    query = select(func.count()).select_from(Wish.__table__)
    if by_place:
        query = query.join(Child.__table__, _children.id == _wishes.child_id)
    return query.where(*conditions)


def _window(query, f: WishFilter, page: int, per_page: int):
    return query.order_by(*SORTS.get(f.sort, SORTS["newest"])).limit(per_page).offset((page - 1) * per_page)


def public_wishes(f: WishFilter, page: int, per_page: int) -> Page:
    """A page of public wishes as models, for the API."""
    conditions, by_place, total = _where(f, catalogue.summary())
    if total is None:
        total = db.session.scalar(_count(conditions, by_place))
    # The list joins only the child, and loads the claims in one more query where a wish
    # names the donor.
    query = (
        select(Wish)
        .join(Child, Child.id == Wish.child_id)
        .where(*conditions)
        .options(contains_eager(Wish.child), lazyload(Wish.fund))
    )
    if f.status in (WishStatus.FULFILLED, WishStatus.CLOSED):
        query = query.options(selectinload(Wish.claims))
    items = db.session.scalars(_window(query, f, page, per_page))
    return Page(list(items), page, per_page, total)


#: What a card on the list page shows. Built once: composing a select of eleven columns
#: costs more than running it.
_CARDS = select(
    _wishes.public_id,
    _wishes.title,
    _wishes.category,
    _wishes.amount_fen,
    _wishes.currency,
    _wishes.needed_by,
    _wishes.status,
    _children.alias,
    _children.birth_date,
    _children.district,
    _children.street,
).join(Child.__table__, _children.id == _wishes.child_id)


def _rows(statement) -> list:
    """The rows of one read-only statement.

    On PostgreSQL on an autocommit connection: one statement reads one snapshot anyway, and
    the request's session would wrap it in a BEGIN and a ROLLBACK, two more round trips and
    most of SQLAlchemy's cost for this page. SQLite reads in process, through the session."""
    if db.engine.dialect.name != "postgresql":
        return db.session.connection().execute(statement).all()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(statement).all()


def public_cards(f: WishFilter, page: int, per_page: int) -> Page:
    """A page of public wishes as plain rows of what a card shows, for the list page.

    Rows rather than models through the ORM: building twelve Wish and Child objects cost the
    page more than its query did."""
    conditions, by_place, total = _where(f, catalogue.summary())
    if total is None:
        total = _rows(_count(conditions, by_place))[0][0]
    rows = _rows(_window(_CARDS.where(*conditions), f, page, per_page))
    return Page(rows, page, per_page, total)


def public_districts() -> tuple[catalogue.District, ...]:
    """The district menu: every district with public wishes, and its streets as the public sees them."""
    return catalogue.summary().districts


def public_counts() -> dict[str, int]:
    return catalogue.summary().counts
