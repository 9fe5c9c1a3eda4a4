"""Donations: creation, the payment state machine, receipts, refunds, disputes, offline money.

Every move is a conditional UPDATE on (status, version), leaves an audit row and posts its
ledger journal under a source key, so a repeated or concurrent call changes nothing twice.
The caller commits.
"""

import re
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, text, update
from sqlalchemy.orm.attributes import set_committed_value

from core import audit, transitions
from core.audit import Actor
from core.clock import utcnow, zone
from core.errors import Conflict, InvalidTransition, NotFound, ValidationError
from core.extensions import db
from core.models import User
from funds import ledger
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
    PaymentReview,
    Project,
    ProjectStatus,
    ReceiptCounter,
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


def resolve_target(*, fund: str | None = None, project: str | None = None, campaign: str | None = None, wish=None) -> Target:
    """Exactly one of fund / project / campaign / wish, open for donations."""
    given = [name for name, value in (("fund", fund), ("project", project), ("campaign", campaign), ("wish", wish)) if value]
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


def check_amount(amount_fen, target: Target) -> int:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool):
        raise ValidationError(fields={"amount_fen": _("The amount must be a whole number of fen.")})
    low = target.campaign.min_fen if target.campaign else current_app.config["DONATION_MIN_FEN"]
    high = target.campaign.max_fen if target.campaign else current_app.config["DONATION_MAX_FEN"]
    if amount_fen < low or amount_fen > high:
        raise ValidationError(
            fields={"amount_fen": _("The amount must be between %(low)s and %(high)s yuan.", low=low / 100, high=high / 100)}
        )
    return amount_fen


def check_donor(data: DonorInput, target: Target) -> tuple[DonorInput, str | None]:
    from wishes.services import normalise_contact

    fields: dict = {}
    name = (data.name or "").strip()
    if not name or len(name) > 60:
        fields["name"] = _("Give a name of at most 60 characters.")
    partner = (data.partner_name or "").strip() or None
    couple = target.campaign is not None and target.campaign.kind == CampaignKind.COUPLE
    if couple and not partner:
        fields["partner_name"] = _("A couple gives together: give both names.")
    if partner and len(partner) > 60:
        fields["partner_name"] = _("Give a name of at most 60 characters.")
    display = (data.display_name or "").strip() or None
    if display and len(display) > 60:
        fields["display_name"] = _("Give a name of at most 60 characters.")
    contact, email = data.contact, None
    try:
        contact, email = normalise_contact(data.contact)
    except ValueError as exc:
        fields["contact"] = str(exc)
    if fields:
        raise ValidationError(fields=fields)
    kind = "couple" if couple or partner else (data.donor_kind if data.donor_kind in ("individual", "organisation") else "individual")
    clean = DonorInput(name, contact, display, bool(data.anonymous), partner, kind)
    return clean, email


# --- creating -------------------------------------------------------------------------------------


def _new_donation(target: Target, amount_fen: int, clean: DonorInput, email: str | None, channel: str, **extra) -> Donation:
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


def create_donation(target: Target, amount_fen, donor: DonorInput, channel: str, account: User | None = None) -> Donation:
    """A pending online donation, waiting for its payment."""
    amount_fen = check_amount(amount_fen, target)
    if channel not in ONLINE_CHANNELS:
        raise ValidationError(fields={"channel": _("Choose card, Alipay or WeChat Pay.")})
    clean, email = check_donor(donor, target)
    donation = _new_donation(
        target, amount_fen, clean, email, channel, wish_id=target.wish_id, donor_id=account.id if account else None
    )
    audit.record(
        "donation.created", donation, account or f"donor:{donation.public_id}", after={"amount_fen": amount_fen, "channel": channel}
    )
    return donation


def wish_payable(wish) -> bool:
    """A wish that can be fulfilled with money and has an open fund can be paid online in full."""
    from wishes.models import FulfilmentMode

    return wish.allows_mode(FulfilmentMode.MONEY) and wish.fund is not None and wish.fund.active


def pay_for_wish(wish, donor: DonorInput, channel: str, account: User | None = None, *, source: str = "web") -> Donation:
    """Claim a wish for one donor paying its full amount online, held until the payment ends."""
    from wishes import services as wishes_services
    from wishes.models import ClaimSource, FulfilmentMode, WishStatus

    if not wish_payable(wish):
        raise ValidationError(_("This wish cannot be paid online: it takes a gift, or it has no fund."))
    if wish.status != WishStatus.PUBLISHED:
        raise Conflict(_("Someone has already claimed this wish."))
    target = Target(wish.fund, wish_id=wish.id)
    check_amount(wish.amount_fen, target)
    if channel not in ONLINE_CHANNELS:
        raise ValidationError(fields={"channel": _("Choose card, Alipay or WeChat Pay.")})
    check_donor(donor, target)
    claim, _token = wishes_services.claim_wish(
        wish,
        wishes_services.ClaimInput(
            name=donor.name,
            contact=donor.contact,
            display_name=donor.display_name,
            anonymous=donor.anonymous,
            mode=FulfilmentMode.MONEY,
            source=source if source in (ClaimSource.WEB, ClaimSource.QR) else ClaimSource.WEB,
        ),
        donor=account,
    )
    donation = create_donation(target, wish.amount_fen, donor, channel, account)
    wishes_services.hold_for_payment(claim, donation, account or f"donor:{claim.public_id}")
    return donation


def claim_paid_by(donation: Donation):
    from wishes.models import Claim

    if donation.wish_id is None:
        # Only a donation for a wish pays a claim (pay_for_wish).
        return None
    return db.session.scalar(select(Claim).where(Claim.donation_id == donation.id))


def wish_payment_succeeded(donation: Donation, actor: Actor) -> str | None:
    """The claim paid by this donation keeps its wish; a reason for review if it had been released."""
    from wishes import services as wishes_services

    claim = claim_paid_by(donation)
    if claim is None or wishes_services.claim_paid(claim, actor):
        return None
    return (
        f"donation {donation.public_id} for wish {claim.wish.public_id} was paid after its claim "
        f"{claim.public_id} was {claim.status}: the money stands, the wish needs a decision"
    )


def wish_payment_failed(donation: Donation, actor: Actor) -> bool:
    """The claim paid by this donation is cancelled and its wish goes back to the list."""
    from wishes import services as wishes_services

    claim = claim_paid_by(donation)
    return claim is not None and wishes_services.claim_payment_failed(claim, actor)


def record_offline(
    actor: User, target: Target, amount_fen, donor: DonorInput, channel: str, reference: str | None, evidence: str | None = None
) -> Donation:
    """Money that never touched Stripe: cash at an event, a bank transfer, a cheque."""
    amount_fen = check_amount(amount_fen, target)
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
    audit.record("donation.recorded", donation, actor, after={"amount_fen": amount_fen, "channel": channel})
    succeed(donation, actor)
    return donation


# --- moving ---------------------------------------------------------------------------------------


def _move(donation: Donation, to: DonationStatus, actor: Actor, action: str, *, note=None, **values) -> Donation:
    return transitions.move(donation, to, DONATION_TRANSITIONS, actor, action, note=note, **values)


def next_receipt_no(year: int) -> str:
    """The year's next number, taken in the caller's transaction: a rollback gives it back."""
    statement = text(
        "INSERT INTO receipt_counters (year, last_no) VALUES (:year, 1) "
        "ON CONFLICT (year) DO UPDATE SET last_no = receipt_counters.last_no + 1 RETURNING last_no"
    )
    number = db.session.execute(statement, {"year": year}).scalar_one()
    return f"{year}-{number:06d}"


def succeed(donation: Donation, actor: Actor, *, charge_id=None, payment_intent_id=None) -> bool:
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
    values = {"succeeded_at": now, "receipt_no": receipt}
    if charge_id:
        values["charge_id"] = charge_id
    if payment_intent_id:
        values["payment_intent_id"] = payment_intent_id
    _move(donation, DonationStatus.SUCCEEDED, actor, "donation.succeeded", **values)
    ledger.post(
        f"donation:{donation.public_id}:succeeded",
        donation.fund_id,
        [(ASSET_OF_CHANNEL[Channel(donation.channel)], donation.amount_fen), ("income:donations", -donation.amount_fen)],
        f"donation {receipt}",
        actor,
        donation_id=donation.id,
    )
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
        raise ValidationError(
            fields={"amount_fen": _("At most %(n)s yuan can be refunded.", n=refundable / 100)}
        )
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
    if donation.status == DonationStatus.DISPUTED or db.session.scalar(select(Journal.id).where(Journal.source_key == source_key)):
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


def donation_breaches() -> list[str]:
    """Donations whose recorded state disagrees with their journals."""
    breaches = []
    succeeded = (DonationStatus.SUCCEEDED, DonationStatus.PARTIALLY_REFUNDED, DonationStatus.REFUNDED, DonationStatus.DISPUTED)
    from funds.models import Account, Entry

    booked = dict(
        db.session.execute(
            select(Journal.donation_id, func.sum(-Entry.amount_fen))
            .join(Entry, Entry.journal_id == Journal.id)
            .join(Account, Entry.account_id == Account.id)
            .where(Account.code == "income:donations", Journal.donation_id.is_not(None))
            .group_by(Journal.donation_id)
        ).all()
    )
    returned = dict(
        db.session.execute(
            select(Journal.donation_id, func.sum(Entry.amount_fen))
            .join(Entry, Entry.journal_id == Journal.id)
            .join(Account, Entry.account_id == Account.id)
            .where(Account.code == "income:refunds", Journal.donation_id.is_not(None))
            .group_by(Journal.donation_id)
        ).all()
    )
    for donation in db.session.scalars(select(Donation)):
        expected = donation.amount_fen if donation.status in succeeded else 0
        if int(booked.get(donation.id) or 0) != expected:
            breaches.append(f"donation {donation.public_id}: {booked.get(donation.id) or 0} booked, {expected} expected")
        if donation.status in succeeded and not donation.receipt_no:
            breaches.append(f"donation {donation.public_id}: succeeded without a receipt number")
        refunds = int(returned.get(donation.id) or 0)
        disputes_lost = donation.refunded_fen - refunds
        if disputes_lost < 0:
            breaches.append(f"donation {donation.public_id}: {refunds} refunded in the ledger, {donation.refunded_fen} recorded")
    return breaches


def receipt_breaches() -> list[str]:
    """Receipt numbers run 1, 2, 3… in each year with no gap and no repeat."""
    breaches = []
    numbers: dict[int, list[int]] = {}
    for (receipt,) in db.session.execute(select(Donation.receipt_no).where(Donation.receipt_no.is_not(None))):
        year, number = receipt.split("-")
        numbers.setdefault(int(year), []).append(int(number))
    counters = dict(db.session.execute(select(ReceiptCounter.year, ReceiptCounter.last_no)).all())
    for year, issued in numbers.items():
        if sorted(issued) != list(range(1, len(issued) + 1)):
            breaches.append(f"receipts of {year}: numbers are not 1…{len(issued)} without gaps or repeats")
        if counters.get(year, 0) != len(issued):
            breaches.append(f"receipts of {year}: counter at {counters.get(year, 0)}, {len(issued)} issued")
    return breaches



# --- administering funds, projects and campaigns --------------------------------------------------

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: Above this a goal is surely a typo (ten million yuan).
MAX_GOAL_FEN = 1_000_000_000
#: A bureau publishes a few dozen at once; more than this is a wrong file.
MAX_IMPORT_ROWS = 500


def _check_slug(slug, model, fields: dict, *, taken: set | None = None) -> str:
    slug = (slug or "").strip()
    if not slug or len(slug) > 60 or not SLUG.match(slug):
        fields["slug"] = _("Use 1 to 60 lowercase letters, digits and single hyphens.")
        return slug
    if (taken is not None and slug in taken) or db.session.scalar(select(model.id).where(model.slug == slug)) is not None:
        fields["slug"] = _("This short name is already taken.")
    return slug


def _check_text(value, fields: dict, name: str, *, low: int, high: int) -> str:
    value = (value or "").strip()
    if len(value) < low or len(value) > high:
        fields[name] = _("Write between %(low)d and %(high)d characters.", low=low, high=high)
    return value


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _open_fund(slug) -> Fund | None:
    slug = (slug or "").strip()
    fund = db.session.scalar(select(Fund).where(Fund.slug == slug)) if slug else None
    return fund if fund is not None and fund.active else None


def create_fund(actor: User, slug: str, name: str, description: str = "") -> Fund:
    fields: dict = {}
    slug = _check_slug(slug, Fund, fields)
    name = _check_text(name, fields, "name", low=2, high=100)
    description = _check_text(description, fields, "description", low=0, high=5000)
    if fields:
        raise ValidationError(fields=fields)
    fund = Fund(slug=slug, name=name, description=description, active=True)
    db.session.add(fund)
    db.session.flush()
    audit.record("fund.created", fund, actor, after={"slug": slug, "name": name})
    return fund


def update_fund(actor: User, fund: Fund, name: str, description: str, active: bool) -> Fund:
    """The slug stays as it was: it is printed in QR codes already on posters."""
    fields: dict = {}
    name = _check_text(name, fields, "name", low=2, high=100)
    description = _check_text(description, fields, "description", low=0, high=5000)
    if fields:
        raise ValidationError(fields=fields)
    before = {"name": fund.name, "active": fund.active}
    fund.name, fund.description, fund.active = name, description, bool(active)
    db.session.flush()
    audit.record("fund.updated", fund, actor, before=before, after={"name": name, "active": fund.active})
    return fund


@dataclass
class ProjectInput:
    slug: str
    title: str
    fund: str
    goal_fen: int | None
    beneficiaries: int | None = None
    district: str | None = None
    summary: str = ""


def _check_project(data: ProjectInput, fields: dict, *, taken: set | None = None) -> dict:
    slug = _check_slug(data.slug, Project, fields, taken=taken)
    title = _check_text(data.title, fields, "title", low=2, high=100)
    fund = _open_fund(data.fund)
    if fund is None:
        fields["fund"] = _("No such fund is open.")
    if not _whole(data.goal_fen) or data.goal_fen <= 0 or data.goal_fen > MAX_GOAL_FEN:
        fields.setdefault("goal_fen", _("The goal must be more than 0 and at most %(n)s yuan.", n=MAX_GOAL_FEN // 100))
    beneficiaries = data.beneficiaries
    if beneficiaries is not None and (not _whole(beneficiaries) or not 0 <= beneficiaries <= 10_000_000):
        fields["beneficiaries"] = _("Give a whole number.")
    district = (data.district or "").strip() or None
    if district and len(district) > 40:
        fields["district"] = _("Write between %(low)d and %(high)d characters.", low=1, high=40)
    summary = _check_text(data.summary, fields, "summary", low=0, high=5000)
    return {
        "slug": slug,
        "title": title,
        "fund": fund,
        "goal_fen": data.goal_fen,
        "beneficiaries": beneficiaries,
        "district": district,
        "summary": summary,
    }


def _add_project(actor: User, clean: dict, action: str) -> Project:
    fund = clean.pop("fund")
    project = Project(fund_id=fund.id, status=ProjectStatus.OPEN, **clean)
    db.session.add(project)
    db.session.flush()
    audit.record(action, project, actor, after={"slug": project.slug, "fund": fund.slug, "goal_fen": project.goal_fen})
    return project


def create_project(actor: User, data: ProjectInput) -> Project:
    fields: dict = {}
    clean = _check_project(data, fields)
    if fields:
        raise ValidationError(fields=fields)
    return _add_project(actor, clean, "project.created")


def close_project(actor: User, project: Project) -> Project:
    """A closed project takes no more donations; what it raised stays in its fund."""
    if project.status == ProjectStatus.CLOSED:
        raise InvalidTransition(_("This project is already closed."))
    project.status = ProjectStatus.CLOSED
    db.session.flush()
    audit.record("project.closed", project, actor, before={"status": "open"}, after={"status": "closed"})
    return project


def _import_number(value, fields: dict, name: str, *, yuan: bool) -> int | None:
    from core.money import MoneyError, parse_yuan

    text_value = str(value if value is not None else "").strip()
    if not text_value:
        if yuan:
            fields[name] = _("Give an amount in yuan, like 120 or 89.50.")
        return None
    try:
        if yuan:
            return parse_yuan(text_value)
        if not text_value.isdigit():
            raise ValueError(text_value)
        return int(text_value)
    except (MoneyError, ValueError):
        fields[name] = _("Give an amount in yuan, like 120 or 89.50.") if yuan else _("Give a whole number.")
        return None


def import_projects(actor: User, rows: list[dict]) -> list[Project]:
    """Every row is checked before any is written: one bad row and nothing is imported.

    Rows are numbered as a spreadsheet shows them, the header being row 1.
    """
    if not rows:
        raise ValidationError(fields={"sheet": _("The sheet has no projects in it.")})
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationError(fields={"sheet": _("At most %(n)d projects can be imported at once.", n=MAX_IMPORT_ROWS)})
    errors: dict = {}
    cleaned: list[dict] = []
    taken: set[str] = set()
    for number, row in enumerate(rows, start=2):
        fields: dict = {}
        goal = _import_number(row.get("goal_yuan"), fields, "goal_yuan", yuan=True)
        beneficiaries = _import_number(row.get("beneficiaries"), fields, "beneficiaries", yuan=False)
        data = ProjectInput(
            slug=row.get("slug") or "",
            title=row.get("title") or "",
            fund=row.get("fund") or "",
            goal_fen=goal,
            beneficiaries=beneficiaries,
            district=row.get("district"),
            summary=row.get("summary") or "",
        )
        clean = _check_project(data, fields, taken=taken)
        if "goal_yuan" in fields:
            fields.pop("goal_fen", None)
        elif "goal_fen" in fields:
            fields["goal_yuan"] = fields.pop("goal_fen")
        taken.add(clean["slug"])
        if fields:
            errors[f"row {number}"] = "; ".join(f"{name}: {message}" for name, message in fields.items())
        cleaned.append(clean)
    if errors:
        raise ValidationError(_("Nothing was imported: correct these rows and upload the sheet again."), fields=errors)
    return [_add_project(actor, clean, "project.imported") for clean in cleaned]


@dataclass
class CampaignInput:
    slug: str
    title: str
    fund: str
    kind: str = CampaignKind.GENERAL
    description: str = ""
    project: str | None = None
    presets: list | None = None
    min_fen: int | None = None
    max_fen: int | None = None


def create_campaign(actor: User, data: CampaignInput) -> Campaign:
    fields: dict = {}
    slug = _check_slug(data.slug, Campaign, fields)
    title = _check_text(data.title, fields, "title", low=2, high=100)
    description = _check_text(data.description, fields, "description", low=0, high=5000)
    if data.kind not in {k.value for k in CampaignKind}:
        fields["kind"] = _("Choose a kind of campaign.")
    fund = _open_fund(data.fund)
    if fund is None:
        fields["fund"] = _("No such fund is open.")
    project = None
    if data.project:
        project = db.session.scalar(select(Project).where(Project.slug == data.project.strip()))
        if project is None or project.status != ProjectStatus.OPEN:
            fields["project"] = _("No such project is open.")
        elif fund is not None and project.fund_id != fund.id:
            fields["project"] = _("The project belongs to another fund.")
    ceiling = current_app.config["DONATION_MAX_FEN"]
    low = data.min_fen if data.min_fen is not None else current_app.config["DONATION_MIN_FEN"]
    high = data.max_fen if data.max_fen is not None else ceiling
    if not _whole(low) or low <= 0:
        fields["min_fen"] = _("The smallest amount must be more than 0.")
    elif not _whole(high) or high < low or high > ceiling:
        fields["max_fen"] = _("The largest amount must be at least the smallest and at most %(n)s yuan.", n=ceiling // 100)
    presets = data.presets or []
    if len(presets) > 8 or not all(_whole(p) for p in presets):
        fields["presets"] = _("Give at most 8 preset amounts.")
    elif not fields.keys() & {"min_fen", "max_fen"} and any(p < low or p > high for p in presets):
        fields["presets"] = _("Every preset must lie between the smallest and the largest amount.")
    if fields:
        raise ValidationError(fields=fields)
    campaign = Campaign(
        slug=slug,
        title=title,
        description=description,
        kind=data.kind,
        fund_id=fund.id,
        project_id=project.id if project else None,
        presets=sorted(set(presets)),
        min_fen=low,
        max_fen=high,
        active=True,
    )
    db.session.add(campaign)
    db.session.flush()
    audit.record("campaign.created", campaign, actor, after={"slug": slug, "kind": data.kind, "fund": fund.slug})
    return campaign


# --- payment reviews --------------------------------------------------------------------------------


def resolve_review(actor: User, review: PaymentReview, note: str) -> PaymentReview:
    """Close an item of the payment review queue with a note of what was found or done.

    A conditional UPDATE, so two administrators resolving the same item at once cannot both succeed.
    """
    fields: dict = {}
    note = _check_text(note, fields, "note", low=2, high=500)
    if fields:
        raise ValidationError(fields=fields)
    if review.resolved_at is not None:
        raise InvalidTransition(_("This review is already resolved."))
    now = utcnow()
    result = db.session.execute(
        update(PaymentReview)
        .where(PaymentReview.id == review.id, PaymentReview.resolved_at.is_(None))
        .values(resolved_at=now, resolved_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.expire(review)
        raise InvalidTransition(_("This review is already resolved."))
    set_committed_value(review, "resolved_at", now)
    set_committed_value(review, "resolved_by_id", actor.id)
    audit.record(
        "payment_review.resolved",
        review,
        actor,
        before={"resolved": False},
        after={"resolved": True, "event_id": review.event_id},
        note=note,
    )
    return review
