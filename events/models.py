"""Events, their featured wishes, attendees with paddles, and the message log the live board streams."""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.extensions import db
from core.types import UTCDateTime
from core.types import enum_values as _enum_values


class EventStatus(enum.StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    CLOSED = "closed"


EVENT_STATUS_LABELS = {
    EventStatus.DRAFT: _l("Draft"),
    EventStatus.LIVE: _l("Live"),
    EventStatus.CLOSED: _l("Closed"),
}

EVENT_TRANSITIONS: dict[EventStatus, frozenset[EventStatus]] = {
    EventStatus.DRAFT: frozenset({EventStatus.LIVE}),
    EventStatus.LIVE: frozenset({EventStatus.CLOSED}),
    EventStatus.CLOSED: frozenset(),
}


class MessageKind(enum.StrEnum):
    """The `event:` names of the stream (DESIGN.md §5)."""

    CLAIM = "claim"
    RELEASE = "release"
    FULFIL = "fulfil"
    DONATION = "donation"
    SPOTLIGHT = "spotlight"
    PAUSE = "pause"
    RESUME = "resume"
    CLOSE = "close"


class Event(db.Model):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default=EventStatus.DRAFT)
    version: Mapped[int] = mapped_column(default=1)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    venue: Mapped[str] = mapped_column(String(120))
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("funds.id"))
    #: Online donations to this campaign (the room page's "give" link) add to the board's total.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    host_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The board shows a pause screen while this is set.
    paused: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    fund = relationship("Fund")
    campaign = relationship("Campaign")
    featured: Mapped[list["EventWish"]] = relationship(
        back_populates="event", order_by="EventWish.position", cascade="all, delete-orphan"
    )
    attendees: Mapped[list["Attendee"]] = relationship(back_populates="event", order_by="Attendee.paddle")

    __table_args__ = (CheckConstraint(f"status IN ({_enum_values(EventStatus)})", name="status"),)


class EventWish(db.Model):
    """A wish featured at an event, in the order the board shows it."""

    __tablename__ = "event_wishes"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    wish_id: Mapped[int] = mapped_column(ForeignKey("wishes.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(back_populates="featured")
    wish = relationship("Wish", lazy="joined")

    __table_args__ = (UniqueConstraint("event_id", "wish_id"),)


class Attendee(db.Model):
    """Someone in the room with a paddle. Name, organisation and phone stay on the host's pages."""

    __tablename__ = "event_attendees"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    paddle: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(60))
    organisation: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship(back_populates="attendees")

    __table_args__ = (
        UniqueConstraint("event_id", "paddle"),
        CheckConstraint("paddle > 0", name="paddle_positive"),
    )

    @property
    def public_name(self) -> str:
        return self.organisation or self.name


class EventClaim(db.Model):
    """A claim made at an event: by whose paddle or from which phone, and whether the host undid it."""

    __tablename__ = "event_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), unique=True)
    attendee_id: Mapped[int | None] = mapped_column(ForeignKey("event_attendees.id"))
    #: The room page's device cookie, for the per-device cap.
    device: Mapped[str | None] = mapped_column(String(40))
    #: A double tap or a resent form carries the same key and records one claim.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    claim = relationship("Claim", lazy="joined")
    attendee: Mapped[Attendee | None] = relationship()

    __table_args__ = (
        UniqueConstraint("event_id", "idempotency_key"),
        Index("ix_event_claims_event_device", "event_id", "device"),
    )


class EventBackup(db.Model):
    """A paddle raised for a wish after the first: offered the wish if the claim is released."""

    __tablename__ = "event_backups"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    wish_id: Mapped[int] = mapped_column(ForeignKey("wishes.id"))
    attendee_id: Mapped[int] = mapped_column(ForeignKey("event_attendees.id"))
    position: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attendee: Mapped[Attendee] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("event_id", "wish_id", "attendee_id"),)


class EventMessage(db.Model):
    """One line of an event's live stream. Appended only, under the event's row lock, so ids follow commits."""

    __tablename__ = "event_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    kind: Mapped[str] = mapped_column(String(20))
    #: Public fields only: the wish's public id, a public name, a paddle number, an amount.
    data: Mapped[dict] = mapped_column(JSON)
    #: Money given at the event with this message (donation messages); summed for the board's total.
    amount_fen: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(f"kind IN ({_enum_values(MessageKind)})", name="kind"),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        Index("ix_event_messages_event_id", "event_id", "id"),
    )


class CampaignMessage(db.Model):
    """One line of a campaign screen's live stream: a gift that counts on the campaign's public total.

    Appended only, under the campaign's row lock, so ids follow commits (as EventMessage's do).
    """

    __tablename__ = "campaign_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    kind: Mapped[str] = mapped_column(String(20), default="gift")
    #: Public fields only: the wall name (couples' campaigns), the running total and count after this gift.
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("kind IN ('gift')", name="kind"),
        Index("ix_campaign_messages_campaign_id", "campaign_id", "id"),
    )
