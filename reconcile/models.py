"""Reconciliation runs and the items they leave open for a fund administrator."""

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.extensions import db
from core.types import UTCDateTime
from core.types import enum_values as _enum_values
from funds.models import Donation
from reconcile.matching import Kind as ItemKind


class RunSource(enum.StrEnum):
    STRIPE = "stripe"


class RunStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ItemStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ReconcileRun(db.Model):
    """One comparison of an outside record (Stripe's balance) with the ledger, for a period."""

    __tablename__ = "reconcile_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    #: First and last local day compared; None for "from the start" / "up to now".
    since: Mapped[date | None] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=RunStatus.OPEN)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Rows read from the outside record, rows matched, fees and payout shares posted by the run.
    rows: Mapped[int] = mapped_column(default=0)
    matched: Mapped[int] = mapped_column(default=0)
    fees_posted: Mapped[int] = mapped_column(default=0)
    fees_fen: Mapped[int] = mapped_column(default=0)
    payouts_posted: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    items: Mapped[list["ReconcileItem"]] = relationship(back_populates="run", order_by="ReconcileItem.id")

    __table_args__ = (
        CheckConstraint(f"source IN ({_enum_values(RunSource)})", name="source"),
        CheckConstraint(f"status IN ({_enum_values(RunStatus)})", name="status"),
    )


class ReconcileItem(db.Model):
    """A difference a run found; a person resolves it with a note, nothing adjusts it by itself."""

    __tablename__ = "reconcile_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reconcile_runs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: The outside record's id (a balance transaction) or the donation's processor id.
    reference: Mapped[str] = mapped_column(String(255))
    amount_fen: Mapped[int] = mapped_column()
    difference_fen: Mapped[int] = mapped_column()
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=ItemStatus.OPEN)
    note: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    run: Mapped[ReconcileRun] = relationship(back_populates="items")
    donation: Mapped[Donation | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"kind IN ({_enum_values(ItemKind)})", name="kind"),
        CheckConstraint(f"status IN ({_enum_values(ItemStatus)})", name="status"),
    )
