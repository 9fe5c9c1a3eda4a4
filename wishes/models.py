"""Children (private files), their wishes, and the claims donors make on them."""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import age_in_years, utcnow
from core.extensions import db
from core.i18n import ANONYMOUS_NAME
from core.ids import public_id
from core.models import User
from core.text import masked_name
from core.types import UTCDateTime
from core.types import enum_values as _enum_values


class ChildCategory(enum.StrEnum):
    DIFFICULTY = "difficulty"  # 困境儿童
    LEFT_BEHIND = "left_behind"  # 留守儿童
    ORPHANED_DISABLED = "orphaned_disabled"  # 孤残儿童
    UNSUPPORTED = "unsupported"  # 事实无人抚养儿童
    MIGRANT = "migrant"  # 流动儿童
    OTHER = "other"


CHILD_CATEGORY_LABELS = {
    ChildCategory.DIFFICULTY: _l("Child in difficulty"),
    ChildCategory.LEFT_BEHIND: _l("Left-behind child"),
    ChildCategory.ORPHANED_DISABLED: _l("Orphaned or disabled child"),
    ChildCategory.UNSUPPORTED: _l("De-facto unsupported child"),
    ChildCategory.MIGRANT: _l("Migrant child"),
    ChildCategory.OTHER: _l("Other"),
}


class Gender(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNSTATED = "unstated"


GENDER_LABELS = {Gender.FEMALE: _l("Girl"), Gender.MALE: _l("Boy"), Gender.UNSTATED: _l("Not stated")}


class WishCategory(enum.StrEnum):
    STUDY = "study"  # 学习用品
    BOOKS = "books"  # 图书
    CLOTHING = "clothing"  # 衣物
    SPORTS = "sports"  # 体育
    EXPERIENCE = "experience"  # 体验
    MEDICAL = "medical"  # 医疗
    OTHER = "other"  # 其他


WISH_CATEGORY_LABELS = {
    WishCategory.STUDY: _l("School supplies"),
    WishCategory.BOOKS: _l("Books"),
    WishCategory.CLOTHING: _l("Clothing"),
    WishCategory.SPORTS: _l("Sports"),
    WishCategory.EXPERIENCE: _l("Experience"),
    WishCategory.MEDICAL: _l("Medical"),
    WishCategory.OTHER: _l("Other"),
}


class FulfilmentMode(enum.StrEnum):
    GIFT = "gift"
    MONEY = "money"
    EITHER = "either"


MODE_LABELS = {
    FulfilmentMode.GIFT: _l("Buy and deliver the gift"),
    FulfilmentMode.MONEY: _l("Give the money"),
    FulfilmentMode.EITHER: _l("Gift or money"),
}


class WishStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    REJECTED = "rejected"
    CLAIMED = "claimed"
    FULFILLED = "fulfilled"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


WISH_STATUS_LABELS = {
    WishStatus.DRAFT: _l("Draft"),
    WishStatus.SUBMITTED: _l("Awaiting vetting"),
    WishStatus.PUBLISHED: _l("Open"),
    WishStatus.REJECTED: _l("Returned"),
    WishStatus.CLAIMED: _l("Claimed"),
    WishStatus.FULFILLED: _l("Come true"),
    WishStatus.CLOSED: _l("Closed"),
    WishStatus.WITHDRAWN: _l("Withdrawn"),
}

#: DESIGN.md §3: every other move is an error.
WISH_TRANSITIONS: dict[WishStatus, frozenset[WishStatus]] = {
    WishStatus.DRAFT: frozenset({WishStatus.SUBMITTED}),
    WishStatus.SUBMITTED: frozenset({WishStatus.PUBLISHED, WishStatus.REJECTED}),
    WishStatus.REJECTED: frozenset({WishStatus.DRAFT}),
    WishStatus.PUBLISHED: frozenset({WishStatus.CLAIMED, WishStatus.WITHDRAWN}),
    WishStatus.CLAIMED: frozenset({WishStatus.FULFILLED, WishStatus.PUBLISHED}),
    WishStatus.FULFILLED: frozenset({WishStatus.CLOSED}),
    WishStatus.CLOSED: frozenset(),
    WishStatus.WITHDRAWN: frozenset(),
}

#: Statuses a donor may see on the public site.
PUBLIC_WISH_STATUSES = (WishStatus.PUBLISHED, WishStatus.CLAIMED, WishStatus.FULFILLED, WishStatus.CLOSED)


class ClaimStatus(enum.StrEnum):
    ACTIVE = "active"
    FULFILLED = "fulfilled"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


CLAIM_STATUS_LABELS = {
    ClaimStatus.ACTIVE: _l("In progress"),
    ClaimStatus.FULFILLED: _l("Fulfilled"),
    ClaimStatus.EXPIRED: _l("Expired"),
    ClaimStatus.CANCELLED: _l("Cancelled"),
}

CLAIM_TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    ClaimStatus.ACTIVE: frozenset({ClaimStatus.FULFILLED, ClaimStatus.EXPIRED, ClaimStatus.CANCELLED}),
    ClaimStatus.FULFILLED: frozenset(),
    ClaimStatus.EXPIRED: frozenset(),
    ClaimStatus.CANCELLED: frozenset(),
}


class ClaimSource(enum.StrEnum):
    WEB = "web"
    QR = "qr"
    API = "api"
    EVENT_PADDLE = "event_paddle"


class Child(db.Model):
    """A child's private file. Only alias, age and district/street may leave staff pages."""

    __tablename__ = "children"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(40), unique=True)
    legal_name: Mapped[str] = mapped_column(String(60))
    birth_date: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(10))
    guardian_name: Mapped[str] = mapped_column(String(60))
    guardian_phone: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(200))
    school: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(30))
    district: Mapped[str] = mapped_column(String(40), index=True)
    street: Mapped[str] = mapped_column(String(40))
    community: Mapped[str | None] = mapped_column(String(60))
    alias: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    caseworker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    caseworker: Mapped[User] = relationship()
    wishes: Mapped[list["Wish"]] = relationship(back_populates="child", order_by="Wish.created_at")

    __table_args__ = (
        CheckConstraint(f"category IN ({_enum_values(ChildCategory)})", name="category"),
        CheckConstraint(f"gender IN ({_enum_values(Gender)})", name="gender"),
    )

    @property
    def age(self) -> int:
        return age_in_years(self.birth_date)

    def public_view(self) -> dict:
        """Everything about a child that may ever be shown to the public."""
        return {"alias": self.alias, "age": self.age, "district": self.public_district}

    @property
    def public_district(self) -> str:
        return f"{self.district}{self.street}"


class Wish(db.Model):
    __tablename__ = "wishes"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True, default=public_id)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"), index=True)
    title: Mapped[str] = mapped_column(String(60))
    story: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    needed_by: Mapped[date] = mapped_column(Date)
    modes: Mapped[str] = mapped_column(String(10), default=FulfilmentMode.GIFT)
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("funds.id"))
    status: Mapped[str] = mapped_column(String(20), default=WishStatus.DRAFT)
    #: Bumped on every status move; conditional updates compare it.
    version: Mapped[int] = mapped_column(default=1)
    #: Copied from the child at publication so the public list needs no join.
    district: Mapped[str] = mapped_column(String(40))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    vetted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    child: Mapped[Child] = relationship(back_populates="wishes", lazy="joined")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    vetted_by: Mapped[User | None] = relationship(foreign_keys=[vetted_by_id])
    fund = relationship("Fund", lazy="joined")
    claims: Mapped[list["Claim"]] = relationship(back_populates="wish", order_by="Claim.claimed_at")

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(f"status IN ({_enum_values(WishStatus)})", name="status"),
        CheckConstraint(f"category IN ({_enum_values(WishCategory)})", name="category"),
        CheckConstraint(f"modes IN ({_enum_values(FulfilmentMode)})", name="modes"),
        # The newest first, ties by id: the list's default order, read straight from the index.
        Index("ix_wishes_public_list", "status", "published_at", "id"),
        Index("ix_wishes_status_district", "status", "district"),
    )

    def allows_mode(self, mode: str) -> bool:
        return self.modes == FulfilmentMode.EITHER or self.modes == mode

    @property
    def active_claim(self) -> "Claim | None":
        return next((c for c in self.claims if c.status == ClaimStatus.ACTIVE), None)

    @property
    def fulfilled_claim(self) -> "Claim | None":
        return next((c for c in self.claims if c.status == ClaimStatus.FULFILLED), None)


class Place(db.Model):
    """One community (社区) of a street (街道) of a district (区): the managed list a child's place
    is chosen from, so that the public filter and the stations name places one way."""

    __tablename__ = "places"

    id: Mapped[int] = mapped_column(primary_key=True)
    district: Mapped[str] = mapped_column(String(40))
    street: Mapped[str] = mapped_column(String(40))
    community: Mapped[str] = mapped_column(String(60), default="")
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (UniqueConstraint("district", "street", "community", name="uq_places_district_street_community"),)

    @property
    def value(self) -> str:
        return f"{self.district}|{self.street}|{self.community}"

    @property
    def label(self) -> str:
        return " · ".join(part for part in (self.district, self.street, self.community) if part)


class Station(db.Model):
    """Where donors bring or post gifts for the children of one street (or of a whole district):
    a community child-protection station (未保站) or social-work station, never a child's home.
    Staff keep the list; a claim's page and mail tell the donor where, when and whom to call."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    district: Mapped[str] = mapped_column(String(40))
    #: Empty: the station serves every street of the district that has none of its own.
    street: Mapped[str] = mapped_column(String(40), default="")
    name: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(200))
    hours: Mapped[str] = mapped_column(String(120))
    contact_name: Mapped[str] = mapped_column(String(60))
    contact_phone: Mapped[str] = mapped_column(String(32))
    #: Where a parcel goes, when it differs from the address above.
    postal_address: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("district", "street", name="uq_stations_district_street"),)

    @property
    def place(self) -> str:
        return f"{self.district}{self.street}"

    @property
    def parcel_address(self) -> str:
        return self.postal_address or self.address


class WishTerm(db.Model):
    """One search term of a wish's title and story (wishes/search.py): a pair of Chinese
    characters or a Latin word. Written only by the search module's mapper events."""

    __tablename__ = "wish_terms"

    term: Mapped[str] = mapped_column(String(32), primary_key=True)
    wish_id: Mapped[int] = mapped_column(ForeignKey("wishes.id", ondelete="CASCADE"), primary_key=True, index=True)


class Claim(db.Model):
    __tablename__ = "claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True, default=public_id)
    wish_id: Mapped[int] = mapped_column(ForeignKey("wishes.id"), index=True)
    donor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    contact: Mapped[str] = mapped_column(String(254))
    #: The contact as one key per person (core.contacts.contact_key): what the cap on active claims counts.
    contact_key: Mapped[str | None] = mapped_column(String(254))
    #: The claiming client (address or device, core.auth.client_key), for the same cap; None when staff recorded it.
    client_key: Mapped[str | None] = mapped_column(String(48))
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str | None] = mapped_column(String(30))
    anonymous: Mapped[bool] = mapped_column(default=False)
    mode: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ClaimStatus.ACTIVE)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: sha256 of the private manage token; the token itself is never stored.
    manage_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    delivery_note: Mapped[str | None] = mapped_column(Text)
    delivery_photo: Mapped[str | None] = mapped_column(String(80))
    delivery_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    #: The caseworker's thank-you to the donor when the gift reached the child, and a photo the
    #: caseworker chose to show the donor (of the gift, never the child's face).
    thanks_note: Mapped[str | None] = mapped_column(Text)
    thanks_photo: Mapped[str | None] = mapped_column(String(80))
    #: The caseworker also chose to show that photo in public, on the fund's transparency page.
    thanks_photo_public: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    #: A money claim paid online in full: held only until its donation's payment ends.
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"), unique=True)
    #: The language the donor claimed in (zh_CN, en): their reminders are written in it.
    locale: Mapped[str | None] = mapped_column(String(10))

    wish: Mapped[Wish] = relationship(back_populates="claims")
    donor: Mapped[User | None] = relationship()
    donation = relationship("Donation")

    __table_args__ = (
        CheckConstraint(f"status IN ({_enum_values(ClaimStatus)})", name="status"),
        CheckConstraint("mode IN ('gift', 'money')", name="mode"),
        # At most one active claim per wish, whatever the application does.
        Index(
            "uq_claims_one_active_per_wish",
            "wish_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_claims_status_due", "status", "due_at"),
        Index("ix_claims_contact_key_status", "contact_key", "status"),
        Index("ix_claims_client_key_status", "client_key", "status"),
    )

    @property
    def public_name(self) -> str:
        # As the claim form says: with no public name chosen, the surname and stars (李**).
        return str(ANONYMOUS_NAME) if self.anonymous else self.display_name or masked_name(self.name)
