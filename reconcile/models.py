"""Reconciliation runs and the items they leave open for a fund administrator."""

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.extensions import db
from core.types import UTCDateTime
from core.types import enum_values as _enum_values
from funds.models import Donation
from reconcile.matching import Kind as ItemKind


class RunSource(enum.StrEnum):
    STRIPE = "stripe"
    BANK = "bank"


class RunStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ItemStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    #: Marked as not ours, with the reason in the note.
    IGNORED = "ignored"


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
    #: The bank statement a bank run compared.
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("bank_statements.id"))

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
    bank_line_id: Mapped[int | None] = mapped_column(ForeignKey("bank_lines.id"), index=True)
    #: The ledger entry a bank line is suggested for ("donation:<id>", "payout:<id>", "disbursement:<id>").
    entry_key: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default=ItemStatus.OPEN)
    note: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    run: Mapped[ReconcileRun] = relationship(back_populates="items")
    donation: Mapped[Donation | None] = relationship()
    bank_line: Mapped["BankLine | None"] = relationship()

    __table_args__ = (
        CheckConstraint(f"kind IN ({_enum_values(ItemKind)})", name="kind"),
        CheckConstraint(f"status IN ({_enum_values(ItemStatus)})", name="status"),
    )


class BankStatement(db.Model):
    """One imported bank statement file."""

    __tablename__ = "bank_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    #: The file's SHA-256: the same file imported again is recognised at once.
    digest: Mapped[str] = mapped_column(String(64), index=True)
    layout: Mapped[str] = mapped_column(String(20))
    lines_read: Mapped[int] = mapped_column(default=0)
    lines_new: Mapped[int] = mapped_column(default=0)
    first_day: Mapped[date | None] = mapped_column(Date)
    last_day: Mapped[date | None] = mapped_column(Date)
    imported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BankLine(db.Model):
    """A line of the bank account's statement, kept once however often it is imported."""

    __tablename__ = "bank_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statements.id"), index=True)
    #: The bank's serial number, or every field of the line (bankfiles.Line.fingerprint).
    fingerprint: Mapped[str] = mapped_column(String(40), unique=True)
    row: Mapped[int] = mapped_column()
    booked_on: Mapped[date] = mapped_column(Date, index=True)
    #: Money in positive, money out negative.
    amount_fen: Mapped[int] = mapped_column()
    counterparty: Mapped[str] = mapped_column(String(120), default="")
    reference: Mapped[str] = mapped_column(String(255), default="")
    serial: Mapped[str] = mapped_column(String(80), default="")
    balance_fen: Mapped[int | None] = mapped_column()

    __table_args__ = (CheckConstraint("amount_fen <> 0", name="amount_nonzero"),)


class BankMatch(db.Model):
    """A bank line settling (part of) a ledger entry: a donation, a payout or a disbursement."""

    __tablename__ = "bank_matches"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("bank_lines.id"), index=True)
    entry_key: Mapped[str] = mapped_column(String(120), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("reconcile_runs.id"))
    matched_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("line_id", "entry_key", name="uq_bank_matches_line_entry"),)
