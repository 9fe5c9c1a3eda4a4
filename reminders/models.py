"""Job runs and locks, claim reminders, pairings (1+1) and their contact log, mail preferences."""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.extensions import db
from core.models import User
from core.types import UTCDateTime
from core.types import enum_values as _enum_values
from funds.models import Fund
from wishes.models import Child, Claim, Wish


class JobResult(enum.StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    #: Another process held the job's lock: this run did nothing.
    SKIPPED = "skipped"


JOB_RESULT_LABELS = {
    JobResult.RUNNING: _l("Running"),
    JobResult.OK: _l("Finished"),
    JobResult.FAILED: _l("Failed"),
    JobResult.SKIPPED: _l("Skipped: another process was running it"),
}


class JobRun(db.Model):
    """One run of a declared job, for the staff's jobs page."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str] = mapped_column(String(20), default=JobResult.RUNNING)
    #: What the job did (notifications sent, claims expired…).
    count: Mapped[int] = mapped_column(default=0)
    duration_ms: Mapped[int | None] = mapped_column()
    message: Mapped[str | None] = mapped_column(Text)
    #: Which process ran it: host name and process id.
    runner: Mapped[str] = mapped_column(String(120))

    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)


class JobLock(db.Model):
    """A lease on a job, the lock where the database has no advisory locks (SQLite).

    A holder that dies leaves its lease to run out; then another process may take it.
    """

    __tablename__ = "job_locks"

    job: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(160))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Setting(db.Model):
    """Settings staff change on the site (a fund administrator's reminder days)."""

    __tablename__ = "reminder_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    value: Mapped[dict | list | int | str | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClaimReminder(db.Model):
    """A reminder sent to a claim's donor; one per (claim, days before the due date), whatever runs."""

    __tablename__ = "claim_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    days_before: Mapped[int] = mapped_column()
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("claim_id", "days_before", name="uq_claim_reminders_claim_days"),)


class ClaimExtension(db.Model):
    """The one extension a claim may have ("I need more time")."""

    __tablename__ = "claim_extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), unique=True)
    old_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    new_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FundPolicy(db.Model):
    """Per fund: whether an overdue gift is proposed to the fund administrator as a purchase."""

    __tablename__ = "fund_reminder_policies"

    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id", ondelete="CASCADE"), primary_key=True)
    propose_purchase: Mapped[bool] = mapped_column(default=False)

    fund: Mapped[Fund] = relationship()


class ProposalStatus(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"


PROPOSAL_STATUS_LABELS = {
    ProposalStatus.OPEN: _l("Waiting for a decision"),
    ProposalStatus.ACCEPTED: _l("Buy from the fund"),
    ProposalStatus.DECLINED: _l("Not bought"),
}


#: What each kind of queued message is, as the notifications page names it (kinds are queued
#: by several packages; this page, above them all, names every one).
NOTIFICATION_KIND_LABELS = {
    "claim.created": _l("Claim confirmation"),
    "claim.reminder": _l("Delivery reminder"),
    "claim.expired": _l("Claim expired"),
    "digest.caseworker": _l("Caseworker's summary"),
    "digest.supervisor": _l("Supervisor's summary"),
    "digest.fund_admin": _l("Fund administrator's summary"),
    "pairing.reminder": _l("Pairing contact reminder"),
    "purchase.proposed": _l("Purchase proposal"),
    "password_changed": _l("Password changed"),
    "password_reset": _l("Password reset link"),
    "registration_confirm": _l("Account confirmation"),
    "registration_existing": _l("Sign-up with an existing account"),
}
NOTIFICATION_CHANNEL_LABELS = {"email": _l("E-mail message"), "sms": _l("Text message")}


class PurchaseProposal(db.Model):
    """An overdue gift offered to its fund's administrator as a purchase, so the child still gets it."""

    __tablename__ = "purchase_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), unique=True)
    wish_id: Mapped[int] = mapped_column(ForeignKey("wishes.id"), index=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    amount_fen: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default=ProposalStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    wish: Mapped[Wish] = relationship()
    fund: Mapped[Fund] = relationship()
    claim: Mapped[Claim] = relationship()

    __table_args__ = (
        CheckConstraint(f"status IN ({_enum_values(ProposalStatus)})", name="proposal_status"),
        CheckConstraint("amount_fen > 0", name="proposal_amount"),
    )


class Pairing(db.Model):
    """A 1+1 pairing: one volunteer and one child, from a start date, in touch at least monthly."""

    __tablename__ = "pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"), index=True)
    volunteer_name: Mapped[str] = mapped_column(String(60))
    volunteer_email: Mapped[str | None] = mapped_column(String(254))
    volunteer_phone: Mapped[str | None] = mapped_column(String(32))
    #: zh_CN or en: the volunteer's reminders are written in it.
    volunteer_locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    #: Part of the volunteer's private link; raising it ends every link sent so far.
    link_version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    child: Mapped[Child] = relationship()
    created_by: Mapped[User] = relationship()
    contacts: Mapped[list["PairingContact"]] = relationship(
        back_populates="pairing", order_by="PairingContact.happened_on.desc()", cascade="all, delete-orphan"
    )


class ContactKind(enum.StrEnum):
    CALL = "call"
    VISIT = "visit"
    ACTIVITY = "activity"
    NOTE = "note"


CONTACT_KIND_LABELS = {
    ContactKind.CALL: _l("Call"),
    ContactKind.VISIT: _l("Visit"),
    ContactKind.ACTIVITY: _l("Activity"),
    ContactKind.NOTE: _l("Note"),
}


class PairingContact(db.Model):
    __tablename__ = "pairing_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("pairings.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    happened_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    #: "volunteer" from the private link, or "user:<id>" for staff.
    logged_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pairing: Mapped[Pairing] = relationship(back_populates="contacts")

    __table_args__ = (
        CheckConstraint(f"kind IN ({_enum_values(ContactKind)})", name="contact_kind"),
        Index("ix_pairing_contacts_pairing_day", "pairing_id", "happened_on"),
    )


class MailPreference(db.Model):
    """A recipient's language and whether they stopped the mail that is not about their own claim."""

    __tablename__ = "mail_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased e-mail address.
    address: Mapped[str] = mapped_column(String(254), unique=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
