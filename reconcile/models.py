"""Reconciliation runs and the items they leave open for a fund administrator."""

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.extensions import db
from core.types import UTCDateTime
from core.types import enum_values as _enum_values
from funds.models import Donation, Journal
from reconcile.matching import Kind as ItemKind


class RunSource(enum.StrEnum):
    STRIPE = "stripe"
    BANK = "bank"


class RunStatus(enum.StrEnum):
    #: A web run still reading Stripe, in a worker thread: counters and heartbeat move, no items yet.
    RUNNING = "running"
    OPEN = "open"
    CLOSED = "closed"
    #: Stripe did not answer, a row was malformed, or the process died: the reason says which; no items.
    FAILED = "failed"


class ItemLayer(enum.StrEnum):
    """Which of the three layers of reconciliation found the item."""

    DONATION_CHARGE = "donation_charge"
    CHARGE_PAYOUT = "charge_payout"
    #: A payout or an offline donation against a bank statement line.
    BANK = "bank"


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
    #: Progress of a run in the background: pages and rows read from Stripe so far.
    pages: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    fetched: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    #: Moved by the worker after every page; a running run whose heartbeat is stale lost its process.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why a failed run failed, in words an administrator reads.
    failure: Mapped[str | None] = mapped_column(Text)

    items: Mapped[list["ReconcileItem"]] = relationship(back_populates="run", order_by="ReconcileItem.id")

    __table_args__ = (
        CheckConstraint(f"source IN ({_enum_values(RunSource)})", name="source"),
        CheckConstraint(f"status IN ({_enum_values(RunStatus)})", name="status"),
        #: One Stripe run at a time: two starts at the same moment, the index refuses the second.
        Index(
            "uq_reconcile_runs_running",
            "source",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
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
    layer: Mapped[str] = mapped_column(String(20), default=ItemLayer.DONATION_CHARGE)
    #: The Stripe charge (or other source) a Stripe row names, kept so a person can link it to a donation.
    external_ref: Mapped[str | None] = mapped_column(String(255))
    #: The correcting journal an administrator posted for this item.
    journal_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_journals.id"))
    #: The donation an administrator linked a row or a line naming none to.
    linked_donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=ItemStatus.OPEN)
    note: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    run: Mapped[ReconcileRun] = relationship(back_populates="items")
    donation: Mapped[Donation | None] = relationship(foreign_keys=[donation_id])
    bank_line: Mapped["BankLine | None"] = relationship()
    journal: Mapped[Journal | None] = relationship()
    linked_donation: Mapped[Donation | None] = relationship(foreign_keys=[linked_donation_id])

    __table_args__ = (
        CheckConstraint(f"kind IN ({_enum_values(ItemKind)})", name="kind"),
        CheckConstraint(f"status IN ({_enum_values(ItemStatus)})", name="status"),
        CheckConstraint(f"layer IN ({_enum_values(ItemLayer)})", name="layer"),
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
