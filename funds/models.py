"""Special funds (专项基金), projects, campaigns, donations, and the double-entry ledger."""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.extensions import db
from core.ids import public_id
from core.types import UTCDateTime
from core.types import enum_values as _enum_values


class Fund(db.Model):
    __tablename__ = "funds"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Project(db.Model):
    """A charity project (公益慈善项目) with a goal; donations to it are booked to its fund."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text, default="")
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    goal_fen: Mapped[int] = mapped_column()
    #: Expected beneficiary-visits (人次), as bureaus report them.
    beneficiaries: Mapped[int | None] = mapped_column()
    district: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default=ProjectStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    fund: Mapped[Fund] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("goal_fen > 0", name="goal_positive"),
        CheckConstraint(f"status IN ({_enum_values(ProjectStatus)})", name="status"),
    )


class CampaignKind(enum.StrEnum):
    GENERAL = "general"
    #: The marriage-registry counter: two names, one gift, a certificate.
    COUPLE = "couple"


class Campaign(db.Model):
    """A donation entry point with its own QR poster."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(10), default=CampaignKind.GENERAL)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    #: Amounts offered as buttons, in fen.
    presets: Mapped[list] = mapped_column(JSON, default=list)
    min_fen: Mapped[int] = mapped_column(default=100)
    max_fen: Mapped[int] = mapped_column(default=5_000_000)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    fund: Mapped[Fund] = relationship(lazy="joined")
    project: Mapped[Project | None] = relationship()

    __table_args__ = (
        CheckConstraint(f"kind IN ({_enum_values(CampaignKind)})", name="kind"),
        CheckConstraint("min_fen > 0 AND max_fen >= min_fen", name="limits"),
    )


class Channel(enum.StrEnum):
    CARD = "card"
    ALIPAY = "alipay"
    WECHAT_PAY = "wechat_pay"
    CASH = "cash"
    BANK_TRANSFER = "bank_transfer"
    CHEQUE = "cheque"


ONLINE_CHANNELS = frozenset({Channel.CARD, Channel.ALIPAY, Channel.WECHAT_PAY})
OFFLINE_CHANNELS = frozenset({Channel.CASH, Channel.BANK_TRANSFER, Channel.CHEQUE})

CHANNEL_LABELS = {
    Channel.CARD: _l("Bank card"),
    Channel.ALIPAY: _l("Alipay"),
    Channel.WECHAT_PAY: _l("WeChat Pay"),
    Channel.CASH: _l("Cash"),
    Channel.BANK_TRANSFER: _l("Bank transfer"),
    Channel.CHEQUE: _l("Cheque"),
}


class DonationStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    DISPUTED = "disputed"


DONATION_STATUS_LABELS = {
    DonationStatus.PENDING: _l("Processing"),
    DonationStatus.SUCCEEDED: _l("Received"),
    DonationStatus.FAILED: _l("Failed"),
    DonationStatus.REFUNDED: _l("Refunded"),
    DonationStatus.PARTIALLY_REFUNDED: _l("Partly refunded"),
    DonationStatus.DISPUTED: _l("Under dispute"),
}

#: DESIGN.md §3, plus what payments do in practice: a second partial refund, and a
#: dispute that is won (back to succeeded) or lost (the money is gone, as if refunded).
DONATION_TRANSITIONS: dict[DonationStatus, frozenset[DonationStatus]] = {
    DonationStatus.PENDING: frozenset({DonationStatus.SUCCEEDED, DonationStatus.FAILED}),
    DonationStatus.SUCCEEDED: frozenset(
        {DonationStatus.REFUNDED, DonationStatus.PARTIALLY_REFUNDED, DonationStatus.DISPUTED}
    ),
    DonationStatus.PARTIALLY_REFUNDED: frozenset(
        {DonationStatus.PARTIALLY_REFUNDED, DonationStatus.REFUNDED, DonationStatus.DISPUTED}
    ),
    DonationStatus.DISPUTED: frozenset(
        {DonationStatus.SUCCEEDED, DonationStatus.PARTIALLY_REFUNDED, DonationStatus.REFUNDED}
    ),
    DonationStatus.FAILED: frozenset(),
    DonationStatus.REFUNDED: frozenset(),
}


class Donation(db.Model):
    __tablename__ = "donations"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True, default=lambda: public_id(20))
    amount_fen: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    wish_id: Mapped[int | None] = mapped_column(ForeignKey("wishes.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    donor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    donor_kind: Mapped[str] = mapped_column(String(20), default="individual")
    name: Mapped[str] = mapped_column(String(60))
    #: The second name of a couple giving together.
    partner_name: Mapped[str | None] = mapped_column(String(60))
    contact: Mapped[str] = mapped_column(String(254))
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str | None] = mapped_column(String(60))
    anonymous: Mapped[bool] = mapped_column(default=False)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=DonationStatus.PENDING)
    version: Mapped[int] = mapped_column(default=1)
    #: Money returned so far; disputed money is held in disputed_fen until the dispute closes.
    refunded_fen: Mapped[int] = mapped_column(default=0)
    disputed_fen: Mapped[int] = mapped_column(default=0)
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    charge_id: Mapped[str | None] = mapped_column(String(255), index=True)
    #: Offline donations: bank reference, cheque number, the event where cash was handed over.
    reference: Mapped[str | None] = mapped_column(String(120))
    evidence: Mapped[str | None] = mapped_column(String(80))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    receipt_no: Mapped[str | None] = mapped_column(String(24), unique=True)
    #: Paid in the offline payment simulator: no money moved. Counted in public only on a demo site.
    simulated: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    fund: Mapped[Fund] = relationship(lazy="joined")
    project: Mapped[Project | None] = relationship()
    campaign: Mapped[Campaign | None] = relationship()

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refund_within_amount"),
        CheckConstraint("disputed_fen >= 0 AND disputed_fen <= amount_fen", name="dispute_within_amount"),
        CheckConstraint(f"status IN ({_enum_values(DonationStatus)})", name="status"),
        CheckConstraint(f"channel IN ({_enum_values(Channel)})", name="channel"),
        Index("ix_donations_campaign_status", "campaign_id", "status"),
    )

    @property
    def net_fen(self) -> int:
        return self.amount_fen - self.refunded_fen - self.disputed_fen


class ReceiptCounter(db.Model):
    """The last receipt number issued in a year: incremented in the donation's transaction, so never a gap."""

    __tablename__ = "receipt_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_no: Mapped[int] = mapped_column(default=0)


# --- the ledger -----------------------------------------------------------------------------


class AccountKind(enum.StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    NET_ASSETS = "net_assets"
    INCOME = "income"
    EXPENSE = "expense"


class Account(db.Model):
    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))

    __table_args__ = (CheckConstraint(f"kind IN ({_enum_values(AccountKind)})", name="kind"),)


class Journal(db.Model):
    """Entries that belong together and sum to zero. Never updated, never deleted."""

    __tablename__ = "ledger_journals"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What caused the posting, e.g. "stripe:evt_…" or "donation:…:succeeded"; posting twice is a no-op.
    source_key: Mapped[str] = mapped_column(String(160), unique=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"), index=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_journals.id"))
    memo: Mapped[str] = mapped_column(String(200))
    actor_label: Mapped[str] = mapped_column(String(80))
    posted_on: Mapped[date] = mapped_column(Date)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entries: Mapped[list["Entry"]] = relationship(back_populates="journal", order_by="Entry.id")


class Entry(db.Model):
    """One signed amount: a debit is positive, a credit negative."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    journal_id: Mapped[int] = mapped_column(ForeignKey("ledger_journals.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    amount_fen: Mapped[int] = mapped_column()

    journal: Mapped[Journal] = relationship(back_populates="entries")
    account: Mapped[Account] = relationship(lazy="joined")

    __table_args__ = (CheckConstraint("amount_fen <> 0", name="amount_nonzero"),)


class LedgerImmutable(Exception):
    """Raised when code tries to change or remove a posted journal or entry."""


@event.listens_for(Journal, "before_update")
@event.listens_for(Journal, "before_delete")
@event.listens_for(Entry, "before_update")
@event.listens_for(Entry, "before_delete")
def _refuse_changes(_mapper, _connection, target):
    raise LedgerImmutable(f"{type(target).__name__} {target.id} is posted: reverse it instead")


# --- disbursements --------------------------------------------------------------------------------


class DisbursementKind(enum.StrEnum):
    #: Buying the gift of a wish paid in money; the purchase receipt is kept with it.
    WISH_GIFT = "wish_gift"
    #: A grant to one of the fund's projects.
    GRANT = "grant"
    #: Paying a supplier.
    SUPPLIER = "supplier"


DISBURSEMENT_KIND_LABELS = {
    DisbursementKind.WISH_GIFT: _l("Buy a wish's gift"),
    DisbursementKind.GRANT: _l("Grant to a project"),
    DisbursementKind.SUPPLIER: _l("Pay a supplier"),
}


class DisbursementStatus(enum.StrEnum):
    REQUESTED = "requested"
    PAID = "paid"
    REJECTED = "rejected"


DISBURSEMENT_STATUS_LABELS = {
    DisbursementStatus.REQUESTED: _l("Waiting for approval"),
    DisbursementStatus.PAID: _l("Paid"),
    DisbursementStatus.REJECTED: _l("Rejected"),
}

DISBURSEMENT_TRANSITIONS: dict[DisbursementStatus, frozenset[DisbursementStatus]] = {
    DisbursementStatus.REQUESTED: frozenset({DisbursementStatus.PAID, DisbursementStatus.REJECTED}),
    DisbursementStatus.PAID: frozenset(),
    DisbursementStatus.REJECTED: frozenset(),
}


class Disbursement(db.Model):
    """Money going out of a fund: requested by one fund administrator, above a set amount approved by another."""

    __tablename__ = "disbursements"

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column()
    payee: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(Text)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    wish_id: Mapped[int | None] = mapped_column(ForeignKey("wishes.id"), index=True)
    #: The purchase receipt or invoice image (core.uploads), kept outside static/.
    receipt: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default=DisbursementStatus.REQUESTED)
    version: Mapped[int] = mapped_column(default=1)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why it was rejected.
    reason: Mapped[str | None] = mapped_column(Text)

    fund: Mapped[Fund] = relationship(lazy="joined")
    project: Mapped[Project | None] = relationship()

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(f"kind IN ({_enum_values(DisbursementKind)})", name="kind"),
        CheckConstraint(f"status IN ({_enum_values(DisbursementStatus)})", name="status"),
    )
