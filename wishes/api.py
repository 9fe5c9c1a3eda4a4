"""The public wish API (DESIGN.md §5): list, read, claim."""

from datetime import date, datetime
from typing import Literal

from flask import Blueprint, current_app, request
from pydantic import BaseModel, Field, StrictBool

from core import cache
from core.api import Link, Schema, api
from core.auth import client_key
from core.database import short_read
from core.extensions import csrf, db, limiter
from core.transactions import transaction
from core.urls import public_url
from wishes import queries, search, services
from wishes.models import Child, ClaimSource, Wish, WishCategory, WishStatus

bp = Blueprint("wishes_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class ChildOut(BaseModel):
    alias: str
    age: int
    district: str


class WishOut(BaseModel):
    id: str
    title: str
    story: str
    category: WishCategory
    amount_fen: int
    currency: str
    status: WishStatus
    needed_by: date
    modes: str
    child: ChildOut
    fulfilled_by: str | None = Field(None, description="Public name of the donor, once the wish came true")
    url: str
    qr_url: str


class WishList(BaseModel):
    items: list[WishOut]
    next: str | None
    total: int = Field(
        description=f"Wishes matching the filters; a search (`q`) counts to {search.COUNT_CAP + 1}, "
        f"which means more than {search.COUNT_CAP}"
    )


#: A place as `child.district` shows it (district and street), with room for a space between.
PLACE_MAX_LENGTH = Child.district.type.length + 1 + Child.street.type.length


class WishQuery(Schema):
    district: str | None = Field(
        None,
        max_length=PLACE_MAX_LENGTH,
        description="A wish's `child.district` as this API shows it (district and street), or a district alone",
    )
    street: str | None = Field(None, max_length=Child.street.type.length, description="A street (街道) alone")
    category: WishCategory | None = None
    status: Literal["published", "claimed", "fulfilled"] = "published"
    max_amount_fen: int | None = Field(None, ge=0, le=10**9)
    sort: Literal["newest", "soonest", "cost_asc", "cost_desc"] = "newest"
    q: str | None = Field(
        None,
        max_length=search.QUERY_MAX_LENGTH,
        description="Words to find in titles and stories; Chinese needs no spaces (书包 finds 新书包)",
    )
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(20, ge=1, le=100)


class ClaimIn(Schema):
    name: str = Field(min_length=1, max_length=60)
    contact: str = Field(min_length=3, max_length=254, description="Mobile number or e-mail address")
    display_name: str | None = Field(None, max_length=30)
    anonymous: StrictBool = False
    mode: Literal["gift", "money"] | None = None


class ClaimOut(BaseModel):
    id: str
    wish: str
    status: str
    mode: str
    public_name: str
    claimed_at: datetime
    due_at: datetime


class ClaimCreated(BaseModel):
    claim: ClaimOut
    manage_url: str


def wish_out(wish: Wish) -> WishOut:
    fulfilled = wish.fulfilled_claim if wish.status in (WishStatus.FULFILLED, WishStatus.CLOSED) else None
    return WishOut(
        id=wish.public_id,
        title=wish.title,
        story=wish.story,
        category=wish.category,
        amount_fen=wish.amount_fen,
        currency=wish.currency,
        status=wish.status,
        needed_by=wish.needed_by,
        modes=wish.modes,
        child=ChildOut(**wish.child.public_view()),
        fulfilled_by=fulfilled.public_name if fulfilled else None,
        url=public_url("wishes.detail", public_id=wish.public_id),
        qr_url=public_url("wishes.wish_qr", public_id=wish.public_id, fmt="png"),
    )


def claim_out(claim) -> ClaimOut:
    return ClaimOut(
        id=claim.public_id,
        wish=claim.wish.public_id,
        status=claim.status,
        mode=claim.mode,
        public_name=claim.public_name,
        claimed_at=claim.claimed_at,
        due_at=claim.due_at,
    )


@api.route(
    bp,
    "GET",
    "/wishes",
    "Published wishes, newest first, with filters and paging",
    query=WishQuery,
    responses={200: ("A page of wishes", WishList), 422: ("A filter is not valid", None)},
    links={
        200: {
            "GetFirstWish": Link("get_wish", {"public_id": "$response.body#/items/0/id"}),
            "ClaimFirstWish": Link("claim_wish", {"public_id": "$response.body#/items/0/id"}),
        }
    },
    decorators=[cache.public_page],
)
def list_wishes(q: WishQuery):
    page = queries.public_wishes(
        queries.WishFilter(
            district=q.district,
            street=q.street,
            category=q.category,
            status=q.status,
            max_amount_fen=q.max_amount_fen,
            sort=q.sort,
            q=(q.q or "").strip() or None,
        ),
        q.page,
        q.per_page,
    )
    next_url = None
    if page.has_next:
        args = {k: v for k, v in request.args.items() if k != "page"}
        next_url = public_url("wishes_api.list_wishes", **args, page=q.page + 1)
    body = WishList(items=[wish_out(w) for w in page.items], next=next_url, total=page.total)
    return body.model_dump(mode="json")


@api.route(
    bp,
    "GET",
    "/wishes/<public_id>",
    "One public wish",
    responses={200: ("The wish", WishOut), 404: ("No such public wish", None)},
)
def get_wish(public_id: str):
    return wish_out(services.get_public_wish(public_id)).model_dump(mode="json")


@api.route(
    bp,
    "POST",
    "/wishes/<public_id>/claim",
    "Claim a wish as a guest donor; the manage URL is the only way back to the claim",
    body=ClaimIn,
    responses={
        201: ("Claimed", ClaimCreated),
        404: ("No such public wish", None),
        409: ("The wish is no longer open", None),
        415: ("The body is not JSON", None),
        422: ("A field is not valid", None),
        429: ("Too many claims from this address, or this donor holds too many wishes", None),
    },
    links={201: {"GetClaimedWish": Link("get_wish", {"public_id": "$response.body#/claim/wish"})}},
    decorators=[limiter.limit(lambda: current_app.config["CLAIM_RATE_LIMIT"])],
)
def claim_wish(public_id: str, body: ClaimIn):
    # Three attempts in four on a popular wish lose: they read its status alone and answer at
    # once, without a write lock or a transaction. A wish still open is claimed from that read.
    with short_read(db.engine) as connection:
        wish = services.open_wish(connection, public_id)
    with transaction():
        claim, token = services.claim_wish(
            wish,
            services.ClaimInput(
                name=body.name,
                contact=body.contact,
                display_name=body.display_name,
                anonymous=body.anonymous,
                mode=body.mode,
                source=ClaimSource.API,
                client_key=client_key(),
            ),
        )
        # Built before the commit, which expires every loaded object: no reading back afterwards.
        out = ClaimCreated(claim=claim_out(claim), manage_url=services.manage_url(token)).model_dump(mode="json")
    return out, 201
