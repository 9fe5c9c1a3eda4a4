"""Donations: creation, the payment state machine, receipt numbers, refunds, disputes, offline money.

Every move is a conditional UPDATE on (status, version), leaves an audit row and posts its
ledger journal under a source key, so a repeated or concurrent call changes nothing twice.
The caller commits.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, text

from core import audit, transitions, writebehind
from core.audit import Actor
from core.clock import local_today, utcnow, zone
from core.contacts import normalise_contact
from core.errors import InvalidTransition, NotFound, ValidationError
from core.extensions import db
from core.models import User
from core.money import is_whole
from core.pii import public_name_error
from core.text import clean_display_name
from funds import ledger, signals
from funds.models import (
    DONATION_TRANSITIONS,
    OFFLINE_CHANNELS,
    ONLINE_CHANNELS,
    Campaign,
    CampaignKind,
    Channel,
    Donation,
    DonationStatus,
    Fund,
    Journal,
    Project,
    ProjectStatus,
)

ASSET_OF_CHANNEL = {
    Channel.CARD: "asset:stripe",
    Channel.ALIPAY: "asset:stripe",
    Channel.WECHAT_PAY: "asset:stripe",
    Channel.CASH: "asset:cash",
    Channel.BANK_TRANSFER: "asset:bank",
    Channel.CHEQUE: "asset:bank",
}


# --- what a donation is for ----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    fund: Fund
    project: Project | None = None
    campaign: Campaign | None = None
    wish_id: int | None = None


def resolve_target(
    *, fund: str | None = None, project: str | None = None, campaign: str | None = None, wish=None
) -> Target:
    """Exactly one of fund / project / campaign / wish, open for donations."""
    given = [
        name for name, value in (("fund", fund), ("project", project), ("campaign", campaign), ("wish", wish)) if value
    ]
    if len(given) != 1:
        raise ValidationError(_("Say what the donation is for: one fund, project, campaign or wish."))
    if fund:
        found = db.session.scalar(select(Fund).where(Fund.slug == fund))
        if found is None or not found.active:
            raise ValidationError(fields={"fund": _("No such fund is open for donations.")})
        return Target(found)
    if project:
        found = db.session.scalar(select(Project).where(Project.slug == project))
        if found is None:
            raise ValidationError(fields={"project": _("No such project.")})
        if found.status != ProjectStatus.OPEN or not found.fund.active:
            raise ValidationError(fields={"project": _("This project is closed to donations.")})
        return Target(found.fund, project=found)
    if campaign:
        found = db.session.scalar(select(Campaign).where(Campaign.slug == campaign))
        if found is None or not found.active or not found.fund.active:
            raise ValidationError(fields={"campaign": _("No such campaign is open for donations.")})
        return Target(found.fund, project=found.project, campaign=found)
    raise ValidationError(fields={"wish": _("Donations to a single wish are made from the wish's page.")})


# --- checks -----------------------------------------------------------------------------------------


@dataclass
class DonorInput:
    name: str
    contact: str
    display_name: str | None = None
    anonymous: bool = False
    partner_name: str | None = None
    donor_kind: str = "individual"
    #: The giving client (core.auth.client_key): a donation that holds a wish counts against its caps.
    client_key: str | None = None


def check_amount(amount_fen, target: Target) -> int:
    if not is_whole(amount_fen):
        raise ValidationError(fields={"amount_fen": _("The amount must be a whole number of fen.")})
    low = target.campaign.min_fen if target.campaign else current_app.config["DONATION_MIN_FEN"]
    high = target.campaign.max_fen if target.campaign else current_app.config["DONATION_MAX_FEN"]
    if amount_fen < low or amount_fen > high:
        raise ValidationError(
            fields={
                "amount_fen": _("The amount must be between %(low)s and %(high)s yuan.", low=low / 100, high=high / 100)
            }
        )
    return amount_fen


def check_donor(data: DonorInput, target: Target) -> tuple[DonorInput, str | None]:
    fields: dict = {}
    name = clean_display_name(data.name) or ""
    if not name or len(name) > 60:
        fields["name"] = _("Give a name of at most 60 characters.")
    partner = clean_display_name(data.partner_name) or None
    couple = target.campaign is not None and target.campaign.kind == CampaignKind.COUPLE
    if couple and not partner:
        fields["partner_name"] = _("A couple gives together: give both names.")
    if partner and len(partner) > 60:
        fields["partner_name"] = _("Give a name of at most 60 characters.")
    display = clean_display_name(data.display_name) or None
    if display and len(display) > 60:
        fields["display_name"] = _("Give a name of at most 60 characters.")
    contact, email = data.contact, None
    try:
        contact, email = normalise_contact(data.contact)
    except ValueError as exc:
        fields["contact"] = str(exc)
    # The names the public sees (the couples' wall, a certificate, a fund's list of givers).
    shown = {"display_name": display, "partner_name": partner}
    if not display and not data.anonymous:
        shown["name"] = name
    for field, value in shown.items():
        problem = public_name_error(value)
        if problem and field not in fields:
            fields[field] = str(problem)
    if fields:
        raise ValidationError(fields=fields)
    kind = (
        "couple"
        if couple or partner
        else (data.donor_kind if data.donor_kind in ("individual", "organisation") else "individual")
    )
    clean = DonorInput(name, contact, display, bool(data.anonymous), partner, kind)
    return clean, email


# --- creating -------------------------------------------------------------------------------------


def _new_donation(
    target: Target, amount_fen: int, clean: DonorInput, email: str | None, channel: str, **extra
) -> Donation:
    """A pending donation from checked input, added and flushed."""
    donation = Donation(
        amount_fen=amount_fen,
        currency=current_app.config["CURRENCY"],
        fund_id=target.fund.id,
        project_id=target.project.id if target.project else None,
        campaign_id=target.campaign.id if target.campaign else None,
        donor_kind=clean.donor_kind,
        name=clean.name,
        partner_name=clean.partner_name,
        contact=clean.contact,
        email=email,
        display_name=clean.display_name,
        anonymous=clean.anonymous,
        channel=channel,
        status=DonationStatus.PENDING,
        **extra,
    )
    db.session.add(donation)
    db.session.flush()
    return donation


def create_donation(
    target: Target, amount_fen, donor: DonorInput, channel: str, account: User | None = None
) -> Donation:
    """A pending online donation, waiting for its payment."""
    amount_fen = check_amount(amount_fen, target)
    if channel not in ONLINE_CHANNELS:
        raise ValidationError(fields={"channel": _("Choose card, Alipay or WeChat Pay.")})
    clean, email = check_donor(donor, target)
    donation = _new_donation(
        target, amount_fen, clean, email, channel, wish_id=target.wish_id, donor_id=account.id if account else None
    )
    audit.record(
        "donation.created",
        donation,
        account or f"donor:{donation.public_id}",
        after={"amount_fen": amount_fen, "channel": channel},
    )
    return donation


def record_offline(
    actor: User,
    target: Target,
    amount_fen,
    donor: DonorInput,
    channel: str,
    reference: str | None,
    evidence: str | None = None,
    received_on: date | None = None,
) -> Donation:
    """Money that never touched Stripe: cash at an event, a bank transfer, a cheque; booked on the
    day it was received (today when not given), which may not be in the future."""
    amount_fen = check_amount(amount_fen, target)
    if received_on is not None and received_on > local_today():
        raise ValidationError(fields={"received_on": _("The money cannot have arrived in the future.")})
    if channel not in OFFLINE_CHANNELS:
        raise ValidationError(fields={"channel": _("Choose cash, bank transfer or cheque.")})
    reference = (reference or "").strip() or None
    if channel != Channel.CASH and not reference:
        raise ValidationError(fields={"reference": _("Give the bank reference or cheque number.")})
    if reference and len(reference) > 120:
        raise ValidationError(fields={"reference": _("The reference may be at most 120 characters.")})
    clean, email = check_donor(donor, target)
    donation = _new_donation(
        target, amount_fen, clean, email, channel, reference=reference, evidence=evidence, recorded_by_id=actor.id
    )
    audit.record(
        "donation.recorded",
        donation,
        actor,
        after={"amount_fen": amount_fen, "channel": channel, "received_on": (received_on or local_today()).isoformat()},
    )
    succeed(donation, actor, received_on=received_on)
    return donation


# --- moving ---------------------------------------------------------------------------------------


def _move(donation: Donation, to: DonationStatus, actor: Actor, action: str, *, note=None, **values) -> Donation:
    return transitions.move(donation, to, DONATION_TRANSITIONS, actor, action, note=note, **values)


def next_receipt_no(year: int) -> str:
    """The year's next number, taken in the caller's transaction: a rollback gives it back."""
    batch = writebehind.active()
    if batch is not None:
        number = batch.part("receipt_numbers", _HeldReceiptNumbers).take(year)
    else:
        statement = text(
            "INSERT INTO receipt_counters (year, last_no) VALUES (:year, 1) "
            "ON CONFLICT (year) DO UPDATE SET last_no = receipt_counters.last_no + 1 RETURNING last_no"
        )
        number = db.session.execute(statement, {"year": year}).scalar_one()
    return f"{year}-{number:06d}"


class _HeldReceiptNumbers:
    """Receipt numbers for a write-behind batch (core.writebehind): performance plumbing.

    The year's counter row is locked and read once, by the batch's first number, just as
    the first ordinary `next_receipt_no` would lock it; numbers are then handed out from
    here in the order asked for, and the counter is written back when the batch is sent.
    A batch that is rolled back writes nothing, so no number is lost.
    """

    LOCK = text(
        "INSERT INTO receipt_counters (year, last_no) VALUES (:year, 0) "
        "ON CONFLICT (year) DO UPDATE SET last_no = receipt_counters.last_no RETURNING last_no"
    )
    WRITE = text("UPDATE receipt_counters SET last_no = :last_no WHERE year = :year")

    def __init__(self):
        self.last: dict[int, int] = {}
        self.unsent: set[int] = set()

    def take(self, year: int) -> int:
        if year not in self.last:
            self.last[year] = db.session.execute(self.LOCK, {"year": year}).scalar_one()
        self.last[year] += 1
        self.unsent.add(year)
        return self.last[year]

    def send(self, session) -> None:
        for year in sorted(self.unsent):
            session.connection().execute(self.WRITE, {"year": year, "last_no": self.last[year]})
        self.unsent.clear()


def succeed(
    donation: Donation, actor: Actor, *, charge_id=None, payment_intent_id=None, received_on: date | None = None
) -> bool:
    """The money arrived: receipt number and ledger journal. False if it was already recorded.

    The journal's source is the donation itself, so two events that both report the
    payment (completed, then async succeeded) can never book it twice.
    """
    if donation.status != DonationStatus.PENDING:
        if donation.status == DonationStatus.FAILED:
            raise InvalidTransition(_("This payment had already failed."))
        return False
    now = utcnow()
    receipt = next_receipt_no(now.astimezone(zone()).year)
    arrived = now
    if received_on is not None and received_on != now.astimezone(zone()).date():
        # Money received on an earlier day: noon of that day, in the site's time zone.
        arrived = datetime.combine(received_on, time(12), tzinfo=zone()).astimezone(UTC)
    values = {"succeeded_at": arrived, "receipt_no": receipt}
    if charge_id:
        values["charge_id"] = charge_id
    if payment_intent_id:
        values["payment_intent_id"] = payment_intent_id
    _move(donation, DonationStatus.SUCCEEDED, actor, "donation.succeeded", **values)
    ledger.post(
        f"donation:{donation.public_id}:succeeded",
        donation.fund_id,
        [
            (ASSET_OF_CHANNEL[Channel(donation.channel)], donation.amount_fen),
            ("income:donations", -donation.amount_fen),
        ],
        f"donation {receipt}",
        actor,
        donation_id=donation.id,
        posted_on=received_on,
    )
    signals.donation_succeeded.send(donation, actor=actor)
    return True


def fail(donation: Donation, actor: Actor, reason: str) -> bool:
    if donation.status != DonationStatus.PENDING:
        return False
    _move(donation, DonationStatus.FAILED, actor, "donation.failed", note=reason[:200], ended_at=utcnow())
    return True


def refund(donation: Donation, amount_fen: int, actor: Actor, *, source_key: str, note: str | None = None) -> bool:
    """Return part or all of the money; False when this source was already applied."""
    if db.session.scalar(select(Journal.id).where(Journal.source_key == source_key)):
        return False
    refundable = donation.amount_fen - donation.refunded_fen - donation.disputed_fen
    if not isinstance(amount_fen, int) or amount_fen <= 0 or amount_fen > refundable:
        raise ValidationError(fields={"amount_fen": _("At most %(n)s yuan can be refunded.", n=refundable / 100)})
    total = donation.refunded_fen + amount_fen
    to = DonationStatus.REFUNDED if total == donation.amount_fen else DonationStatus.PARTIALLY_REFUNDED
    _move(donation, to, actor, "donation.refunded", note=note, refunded_fen=total)
    ledger.post(
        source_key,
        donation.fund_id,
        [("income:refunds", amount_fen), (ASSET_OF_CHANNEL[Channel(donation.channel)], -amount_fen)],
        f"refund of {donation.receipt_no}",
        actor,
        donation_id=donation.id,
    )
    return True


def open_dispute(donation: Donation, amount_fen: int, actor: Actor, *, source_key: str) -> bool:
    if donation.status == DonationStatus.DISPUTED or db.session.scalar(
        select(Journal.id).where(Journal.source_key == source_key)
    ):
        return False
    amount_fen = min(amount_fen, donation.amount_fen - donation.refunded_fen)
    if amount_fen <= 0:
        return False
    _move(donation, DonationStatus.DISPUTED, actor, "donation.disputed", disputed_fen=amount_fen)
    ledger.post(
        source_key,
        donation.fund_id,
        [("income:disputes", amount_fen), ("asset:stripe", -amount_fen)],
        f"dispute on {donation.receipt_no}",
        actor,
        donation_id=donation.id,
    )
    return True


def close_dispute(donation: Donation, won: bool, actor: Actor, *, opened_key: str, source_key: str) -> bool:
    """Won: the held money comes back. Lost: it is gone, as if refunded."""
    if donation.status != DonationStatus.DISPUTED:
        return False
    held = donation.disputed_fen
    if won:
        opened = db.session.scalar(select(Journal).where(Journal.source_key == opened_key))
        back = DonationStatus.PARTIALLY_REFUNDED if donation.refunded_fen else DonationStatus.SUCCEEDED
        _move(donation, back, actor, "donation.dispute_won", disputed_fen=0)
        if opened is not None:
            ledger.reverse(opened, source_key, f"dispute won on {donation.receipt_no}", actor)
        return True
    total = donation.refunded_fen + held
    to = DonationStatus.REFUNDED if total == donation.amount_fen else DonationStatus.PARTIALLY_REFUNDED
    _move(donation, to, actor, "donation.dispute_lost", disputed_fen=0, refunded_fen=total)
    return True


# --- reading --------------------------------------------------------------------------------------


def get_donation(public_id: str) -> Donation:
    donation = db.session.scalar(select(Donation).where(Donation.public_id == public_id))
    if donation is None:
        raise NotFound()
    return donation
