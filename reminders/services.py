"""Claim reminders, overdue claims, one extension, purchase proposals, settings and the notifications desk.

Services add and flush; the job, request or command that called them commits.
"""

from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from core import audit, dates
from core.audit import Actor
from core.clock import end_of_local_day, local_today, utcnow, zone
from core.database import insert_for
from core.errors import Conflict, DomainError, Forbidden, InvalidTransition, NotFound, ValidationError
from core.extensions import db
from core.models import Role, User, UserRole
from core.outbox import Notification, NotificationStatus, retry
from core.transactions import transaction
from core.urls import public_url
from reminders.messages import Message, locale_for, queue_mail, queue_text, sign, unsign
from reminders.models import (
    ClaimExtension,
    ClaimReminder,
    FundPolicy,
    ProposalStatus,
    PurchaseProposal,
    Setting,
)
from wishes import services as wish_services
from wishes.models import Child, Claim, ClaimStatus, FulfilmentMode, Wish

CLAIM_LINK_SALT = "claim-reminder"
#: Most reminder days a fund administrator may set, and the furthest before the due date.
MAX_REMINDER_DAYS = 6
MAX_DAYS_BEFORE = 60
#: Claims read per query and committed per transaction by the reminder job.
BATCH = 1000


# --- settings ----------------------------------------------------------------------------------


def _setting(key: str):
    row = db.session.scalar(select(Setting).where(Setting.key == key))
    return row.value if row else None


def _save_setting(actor: User, key: str, value) -> None:
    row = db.session.scalar(select(Setting).where(Setting.key == key))
    before = row.value if row else None
    if row is None:
        row = Setting(key=key, value=value)
        db.session.add(row)
    else:
        row.value = value
        row.updated_at = utcnow()
    db.session.flush()
    audit.record("settings.changed", row, actor, before={key: before}, after={key: value})


def parse_reminder_days(text: str) -> list[int]:
    """ "7, 2, 0" → [7, 2, 0]; a ValidationError for anything else."""
    parts = [p for p in (text or "").replace("，", ",").replace(" ", ",").split(",") if p]
    try:
        days = sorted({int(p) for p in parts}, reverse=True)
    except ValueError:
        days = []
    if not days or len(days) > MAX_REMINDER_DAYS or any(d < 0 or d > MAX_DAYS_BEFORE for d in days):
        raise ValidationError(
            fields={
                "days": _(
                    "Give up to %(n)d whole numbers of days between 0 and %(max)d, separated by commas.",
                    n=MAX_REMINDER_DAYS,
                    max=MAX_DAYS_BEFORE,
                )
            }
        )
    return days


def claim_reminder_days() -> list[int]:
    stored = _setting("claim_reminder_days")
    if isinstance(stored, list) and stored:
        return sorted({int(d) for d in stored}, reverse=True)
    return parse_reminder_days(current_app.config["CLAIM_REMINDER_DAYS"])


def set_claim_reminder_days(actor: User, text: str) -> list[int]:
    if not actor.has_role(Role.FUND_ADMIN):
        raise Forbidden()
    days = parse_reminder_days(text)
    _save_setting(actor, "claim_reminder_days", days)
    return days


def pairing_reminder_day() -> int:
    stored = _setting("pairing_reminder_day")
    return int(stored) if isinstance(stored, int) and 1 <= stored <= 28 else 20


def set_pairing_reminder_day(actor: User, day) -> int:
    if not actor.has_role(Role.SUPERVISOR):
        raise Forbidden()
    if not isinstance(day, int) or not 1 <= day <= 28:
        raise ValidationError(fields={"day": _("Give a day of the month from 1 to 28.")})
    _save_setting(actor, "pairing_reminder_day", day)
    return day


def fund_policies() -> dict[int, bool]:
    return {
        fund_id: flag for fund_id, flag in db.session.execute(select(FundPolicy.fund_id, FundPolicy.propose_purchase))
    }


def set_fund_policy(actor: User, fund, propose_purchase: bool) -> FundPolicy:
    if not actor.has_role(Role.FUND_ADMIN):
        raise Forbidden()
    policy = db.session.get(FundPolicy, fund.id)
    before = policy.propose_purchase if policy else False
    if policy is None:
        policy = FundPolicy(fund_id=fund.id, propose_purchase=bool(propose_purchase))
        db.session.add(policy)
    policy.propose_purchase = bool(propose_purchase)
    db.session.flush()
    audit.record(
        "fund.reminder_policy",
        fund,
        actor,
        before={"propose_purchase": before},
        after={"propose_purchase": policy.propose_purchase},
    )
    return policy


# --- the claim's private reminder link ---------------------------------------------------------


def claim_link(claim: Claim) -> str:
    """The link in every reminder: it opens the claim's reminder page, with "delivered" and "more time"."""
    token = sign(CLAIM_LINK_SALT, {"c": claim.public_id, "h": claim.manage_token_hash[:16]})
    return public_url("reminders.claim_reminder", token=token)


def claim_from_link(token: str) -> Claim:
    payload = unsign(CLAIM_LINK_SALT, token)
    claim = None
    if isinstance(payload, dict) and isinstance(payload.get("c"), str):
        claim = db.session.scalar(select(Claim).where(Claim.public_id == payload["c"]))
    if claim is None or claim.manage_token_hash[:16] != payload.get("h"):
        raise NotFound(_("This link is not valid. Check that you copied all of it."))
    return claim


def donor_actor(claim: Claim) -> str:
    return f"donor:{claim.public_id}"


def has_extension(claim: Claim) -> bool:
    return db.session.scalar(select(ClaimExtension.id).where(ClaimExtension.claim_id == claim.id)) is not None


def can_extend(claim: Claim) -> bool:
    return (
        claim.status == ClaimStatus.ACTIVE
        and not has_extension(claim)
        and claim.due_at.astimezone(zone()).date() < claim.wish.needed_by
    )


def extend_claim_once(claim: Claim, actor: Actor) -> Claim:
    """ "I need more time": the due date moves on once, by CLAIM_EXTENSION_DAYS, never past the needed-by date."""
    if has_extension(claim):
        raise InvalidTransition(_("This claim has already been given more time once."))
    if wish_services.awaiting_payment(claim):
        raise InvalidTransition(_("Only a claim in progress can be given more time."))
    old_due = claim.due_at
    new_due = old_due + timedelta(days=current_app.config["CLAIM_EXTENSION_DAYS"])
    wish_services.extend_claim(claim, new_due, actor)
    try:
        with db.session.begin_nested():
            db.session.add(ClaimExtension(claim_id=claim.id, old_due_at=old_due, new_due_at=claim.due_at))
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("This claim has already been given more time once.")) from None
    return claim


def report_delivered(claim: Claim, note: str | None) -> Claim:
    note = (note or "").strip() or _("Delivered (reported from the reminder).")
    return wish_services.report_delivery(claim, donor_actor(claim), note)


# --- claim reminders ---------------------------------------------------------------------------


def _reminder_candidates(after_id: int, today: date, furthest: int):
    """Active, unreported, not yet overdue claims due within `furthest` days, with the lowest offset sent."""
    # A lookup per claim on the unique (claim_id, days_before) index, whatever the table's statistics say.
    sent_min = (
        select(func.min(ClaimReminder.days_before))
        .where(ClaimReminder.claim_id == Claim.id)
        .correlate(Claim)
        .scalar_subquery()
    )
    return db.session.execute(
        select(Claim, sent_min)
        .options(joinedload(Claim.wish).joinedload(Wish.child))
        .where(
            Claim.status == ClaimStatus.ACTIVE,
            Claim.delivery_reported_at.is_(None),
            Claim.due_at > utcnow(),
            Claim.due_at <= end_of_local_day(today + timedelta(days=furthest)),
            Claim.id > after_id,
        )
        .order_by(Claim.id)
        .limit(BATCH)
    ).all()


def reminder_due(claim: Claim, sent_min: int | None, days: list[int], today: date) -> int | None:
    """The offset to remind a claim at now, or None.

    Only offsets whose day came after the day of the claim count (the claim's own mail said
    the date); of those that have come, only the latest (smallest) is sent, and only if no
    reminder at that offset or a later one went out already.
    """
    local = zone()
    due_day = claim.due_at.astimezone(local).date()
    claim_day = claim.claimed_at.astimezone(local).date()
    passed = [d for d in days if claim_day < due_day - timedelta(days=d) <= today]
    if not passed:
        return None
    latest = min(passed)
    if sent_min is not None and sent_min <= latest:
        return None
    return latest


def send_claim_reminders() -> int:
    """Queue each due claim reminder once; one commit per batch of claims."""
    days = claim_reminder_days()
    today = local_today()
    queued, after_id = 0, 0
    while True:
        rows = _reminder_candidates(after_id, today, max(days))
        if not rows:
            break
        with transaction():
            for claim, sent_min in rows:
                offset = reminder_due(claim, sent_min, days, today)
                if offset is not None and _record_reminder(claim, offset):
                    _queue_claim_reminder(claim, offset)
                    queued += 1
        after_id = rows[-1][0].id
        db.session.expunge_all()
    return queued


def _record_reminder(claim: Claim, offset: int) -> bool:
    statement = (
        insert_for(db.session)(ClaimReminder)
        .values(claim_id=claim.id, days_before=offset, sent_at=utcnow())
        .on_conflict_do_nothing(index_elements=["claim_id", "days_before"])
        .returning(ClaimReminder.id)
    )
    return db.session.execute(statement).scalar() is not None


def _queue_claim_reminder(claim: Claim, offset: int) -> None:
    wish, link = claim.wish, claim_link(claim)
    due = claim.due_at.astimezone(zone()).date()

    def compose() -> Message:
        when = dates.day(due)
        if offset == 0:
            subject = _("Today is the day: the wish “%(title)s”", title=wish.title)
        else:
            subject = _("Reminder: the wish “%(title)s” is due in %(n)d days", title=wish.title, n=offset)
        return Message(
            subject=subject,
            paragraphs=[
                _(
                    "%(name)s, you claimed the wish “%(title)s” of %(alias)s. Please deliver it by %(date)s.",
                    name=claim.name,
                    title=wish.title,
                    alias=wish.child.alias,
                    date=when,
                ),
                _("Open your private link to say it has been delivered, or to ask once for more time."),
            ],
            links=[(_("Your claim"), link)],
        )

    key = f"claim:{claim.public_id}:reminder:{offset}"
    if claim.email:
        queue_mail(
            kind="claim.reminder",
            address=claim.email,
            locale=locale_for(claim.email, claim.locale),
            compose=compose,
            dedupe_key=key,
            about_own_claim=True,
        )
    else:
        queue_text(
            kind="claim.reminder", phone=claim.contact, locale=claim.locale or "zh_CN", compose=compose, dedupe_key=key
        )


# --- overdue claims ----------------------------------------------------------------------------


def expire_overdue_claims() -> int:
    """Expire each overdue claim through the wishes service, tell its caseworker, one commit each.

    Where the wish's fund asks for it, an overdue gift is also proposed to the fund
    administrators as a purchase from the fund.
    """
    policies = fund_policies()
    expired = 0
    for claim in wish_services.overdue_claims():
        try:
            with transaction():
                wish_services.expire_claim(claim)
                _tell_caseworker(claim)
                if claim.mode == FulfilmentMode.GIFT and policies.get(claim.wish.fund_id):
                    _propose_purchase(claim)
        except DomainError:
            continue
        expired += 1
    return expired


def _tell_caseworker(claim: Claim) -> None:
    wish = claim.wish
    caseworker = db.session.get(User, wish.child.caseworker_id)
    if caseworker is None:
        return
    link = public_url("wishes.staff_wish", wish_id=wish.id)

    def compose() -> Message:
        return Message(
            subject=_("A claim expired: “%(title)s”", title=wish.title),
            paragraphs=[
                _(
                    "The claim on the wish “%(title)s” of %(alias)s passed its due date without a delivery. "
                    "The wish is open to other donors again.",
                    title=wish.title,
                    alias=wish.child.alias,
                )
            ],
            links=[(_("The wish"), link)],
        )

    queue_mail(
        kind="claim.expired",
        address=caseworker.email,
        locale=locale_for(caseworker.email),
        compose=compose,
        dedupe_key=f"claim:{claim.public_id}:expired:caseworker",
    )


def fund_admins() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole)
            .where(UserRole.role.in_([Role.FUND_ADMIN, Role.ADMIN]), User.active.is_(True))
            .order_by(User.id)
        ).unique()
    )


def _propose_purchase(claim: Claim) -> PurchaseProposal | None:
    wish = claim.wish
    try:
        with db.session.begin_nested():
            proposal = PurchaseProposal(
                claim_id=claim.id, wish_id=wish.id, fund_id=wish.fund_id, amount_fen=wish.amount_fen
            )
            db.session.add(proposal)
            db.session.flush()
    except IntegrityError:
        return None
    audit.record("purchase.proposed", proposal, "system", after={"wish": wish.public_id, "amount_fen": wish.amount_fen})
    link = public_url("reminders.proposals")
    for admin in fund_admins():

        def compose(proposal=proposal) -> Message:
            return Message(
                subject=_("Buy an overdue gift from the fund? “%(title)s”", title=wish.title),
                paragraphs=[
                    _(
                        "The donor of the wish “%(title)s” of %(alias)s did not deliver it in time. "
                        "The fund %(fund)s could buy it instead (%(amount)s).",
                        title=wish.title,
                        alias=wish.child.alias,
                        fund=proposal.fund.name,
                        amount=f"{wish.amount_fen / 100:.2f}",
                    )
                ],
                links=[(_("Decide"), link)],
            )

        queue_mail(
            kind="purchase.proposed",
            address=admin.email,
            locale=locale_for(admin.email),
            compose=compose,
            dedupe_key=f"proposal:{proposal.id}:admin:{admin.id}",
        )
    return proposal


def open_proposals() -> list[PurchaseProposal]:
    return list(
        db.session.scalars(
            select(PurchaseProposal)
            .options(joinedload(PurchaseProposal.wish).joinedload(Wish.child), joinedload(PurchaseProposal.fund))
            .order_by(PurchaseProposal.status != ProposalStatus.OPEN, PurchaseProposal.created_at.desc())
            .limit(200)
        )
    )


def decide_proposal(actor: User, proposal_id: int, accept: bool) -> PurchaseProposal:
    if not actor.has_role(Role.FUND_ADMIN):
        raise Forbidden()
    proposal = db.session.get(PurchaseProposal, proposal_id)
    if proposal is None:
        raise NotFound()
    if proposal.status != ProposalStatus.OPEN:
        raise InvalidTransition(_("This proposal has already been decided."))
    proposal.status = ProposalStatus.ACCEPTED if accept else ProposalStatus.DECLINED
    proposal.decided_at = utcnow()
    proposal.decided_by_id = actor.id
    db.session.flush()
    audit.record("purchase.decided", proposal, actor, before={"status": "open"}, after={"status": proposal.status})
    return proposal


# --- the notifications desk --------------------------------------------------------------------


def notifications(status: str | None, limit: int = 100) -> list[Notification]:
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status in set(NotificationStatus):
        query = query.where(Notification.status == status)
    return list(db.session.scalars(query))


def notification_counts() -> dict[str, int]:
    rows = db.session.execute(select(Notification.status, func.count()).group_by(Notification.status))
    return {status: count for status, count in rows}


def retry_notification(actor: User, notification_id: int) -> Notification:
    if not actor.has_role(Role.ADMIN, Role.FUND_ADMIN):
        raise Forbidden()
    note = db.session.get(Notification, notification_id)
    if note is None:
        raise NotFound()
    if not retry(notification_id):
        raise InvalidTransition(_("Only a notification that failed can be tried again."))
    audit.record("notification.retried", note, actor, after={"status": note.status})
    return note


def children_of(actor: User) -> list[Child]:
    return wish_services.children_for(actor)
