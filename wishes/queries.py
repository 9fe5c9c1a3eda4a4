"""Read-only queries behind the public list and the API."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from core.extensions import db
from wishes.models import PUBLIC_WISH_STATUSES, Wish, WishCategory, WishStatus

SORTS = {
    "newest": (Wish.published_at.desc(), Wish.id.desc()),
    "soonest": (Wish.needed_by.asc(), Wish.id.asc()),
    "cost_asc": (Wish.amount_fen.asc(), Wish.id.asc()),
    "cost_desc": (Wish.amount_fen.desc(), Wish.id.desc()),
}


@dataclass(frozen=True)
class WishFilter:
    district: str | None = None
    category: str | None = None
    status: str = WishStatus.PUBLISHED
    max_amount_fen: int | None = None
    min_amount_fen: int | None = None
    sort: str = "newest"


@dataclass
class Page:
    items: list[Wish]
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


def public_wishes(f: WishFilter, page: int, per_page: int) -> Page:
    conditions = [Wish.status == f.status if f.status in PUBLIC_WISH_STATUSES else Wish.status.in_([])]
    if f.district:
        conditions.append(Wish.district == f.district)
    if f.category in WishCategory.__members__.values():
        conditions.append(Wish.category == f.category)
    if f.max_amount_fen is not None:
        conditions.append(Wish.amount_fen <= f.max_amount_fen)
    if f.min_amount_fen is not None:
        conditions.append(Wish.amount_fen >= f.min_amount_fen)
    # A bare count over the (status, …) indexes; the list itself joins only the child,
    # and loads the claims in one more query where a card names the donor.
    total = db.session.scalar(select(func.count()).select_from(Wish).where(*conditions))
    query = select(Wish).where(*conditions).options(joinedload(Wish.child, innerjoin=True), lazyload(Wish.fund))
    if f.status in (WishStatus.FULFILLED, WishStatus.CLOSED):
        query = query.options(selectinload(Wish.claims))
    items = db.session.scalars(
        query.order_by(*SORTS.get(f.sort, SORTS["newest"])).limit(per_page).offset((page - 1) * per_page)
    ).unique()
    return Page(list(items), page, per_page, total or 0)


def public_districts() -> list[str]:
    return list(
        db.session.scalars(
            select(Wish.district).where(Wish.status.in_(PUBLIC_WISH_STATUSES)).distinct().order_by(Wish.district)
        )
    )


def public_counts() -> dict[str, int]:
    rows = db.session.execute(
        select(Wish.status, func.count()).where(Wish.status.in_(PUBLIC_WISH_STATUSES)).group_by(Wish.status)
    )
    return {status: count for status, count in rows}
