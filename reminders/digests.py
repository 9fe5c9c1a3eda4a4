"""Digests for staff: fund administrators weekly, caseworkers and supervisors daily.

The job runs every hour and sends what is due by now: a daily digest on or after
DIGEST_HOUR local time, once per recipient and day; the weekly one from Monday at that
hour, once per recipient and ISO week. An empty digest is not sent. Other packages add
lines to the fund administrators' digest by appending a callable to
`app.extensions[FUND_DIGEST_SECTIONS]` (it returns a list of lines, e.g. open
reconciliation items).
"""

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.clock import as_utc, utcnow, zone
from core.extensions import db
from core.models import Role, User, UserRole
from core.money import format_money
from core.urls import public_url
from funds import queries as fund_queries
from funds.models import Donation, DonationStatus
from reminders.messages import Message, locale_for, queue_mail, unsubscribed_among
from reminders.models import ProposalStatus, PurchaseProposal
from wishes.models import Child, Claim, ClaimStatus, Wish, WishStatus

FUND_DIGEST_SECTIONS = "reminders.fund_digest_sections"
#: Local hour from which the day's digests go out.
DIGEST_HOUR = 8
#: A fund whose balance is below this many fen is "running low" in the weekly digest.
LOW_BALANCE_FEN = 100_000


def _users_with(role: str) -> list[User]:
    return list(
        db.session.scalars(
            select(User).join(UserRole).where(UserRole.role == role, User.active.is_(True)).order_by(User.id)
        ).unique()
    )


def send_digests() -> int:
    local_now = utcnow().astimezone(zone())
    if local_now.hour < DIGEST_HOUR:
        return 0
    # The weekly key holds the ISO week: the week's first run from Monday on sends it, so a
    # Monday the scheduler missed is made good on the next day it runs.
    sent = _caseworker_digests(local_now) + _supervisor_digests(local_now) + _fund_admin_digests(local_now)
    db.session.commit()
    return sent


def _skip(users: list[User]) -> set[str]:
    return unsubscribed_among(u.email for u in users)


def _caseworker_digests(local_now: datetime) -> int:
    caseworkers = _users_with(Role.CASEWORKER)
    stopped = _skip(caseworkers)
    day = local_now.date()
    sent = 0
    for user in caseworkers:
        if user.email.lower() in stopped:
            continue
        waiting = db.session.scalar(
            select(func.count())
            .select_from(Wish)
            .join(Child)
            .where(Child.caseworker_id == user.id, Wish.status == WishStatus.SUBMITTED)
        )
        reported = db.session.scalar(
            select(func.count())
            .select_from(Claim)
            .join(Wish)
            .join(Child)
            .where(
                Child.caseworker_id == user.id,
                Claim.status == ClaimStatus.ACTIVE,
                Claim.delivery_reported_at.is_not(None),
            )
        )
        if not waiting and not reported:
            continue

        def compose(waiting=waiting, reported=reported) -> Message:
            return Message(
                subject=_("Your day: %(n)d wishes waiting, %(m)d deliveries to confirm", n=waiting, m=reported),
                paragraphs=[
                    _("Wishes of your children waiting for vetting: %(n)d", n=waiting),
                    _("Deliveries reported by donors, waiting for your confirmation: %(n)d", n=reported),
                ],
                links=[(_("Claims to follow"), public_url("wishes.staff_claims"))],
            )

        sent += queue_mail(
            kind="digest.caseworker",
            address=user.email,
            locale=locale_for(user.email),
            compose=compose,
            dedupe_key=f"digest:caseworker:{user.id}:{day.isoformat()}",
        )
    return sent


def _supervisor_digests(local_now: datetime) -> int:
    supervisors = _users_with(Role.SUPERVISOR)
    if not supervisors:
        return 0
    count, oldest = db.session.execute(
        select(func.count(), func.min(Wish.submitted_at)).where(Wish.status == WishStatus.SUBMITTED)
    ).one()
    if not count:
        return 0
    age_days = (utcnow() - as_utc(oldest)).days if oldest else 0
    stopped = _skip(supervisors)
    day = local_now.date()
    sent = 0
    for user in supervisors:
        if user.email.lower() in stopped:
            continue

        def compose() -> Message:
            return Message(
                subject=_("Vetting queue: %(n)d wishes, the oldest waiting %(d)d days", n=count, d=age_days),
                paragraphs=[
                    _("Wishes waiting for vetting: %(n)d", n=count),
                    _("The oldest has waited %(d)d days.", d=age_days),
                ],
                links=[(_("Vetting queue"), public_url("wishes.vetting_queue"))],
            )

        sent += queue_mail(
            kind="digest.supervisor",
            address=user.email,
            locale=locale_for(user.email),
            compose=compose,
            dedupe_key=f"digest:supervisor:{user.id}:{day.isoformat()}",
        )
    return sent


def _fund_admin_digests(local_now: datetime) -> int:
    admins = _users_with(Role.FUND_ADMIN)
    if not admins:
        return 0
    week_ago = utcnow() - timedelta(days=7)
    new_count, new_sum = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Donation.amount_fen), 0)).where(
            Donation.status == DonationStatus.SUCCEEDED, Donation.succeeded_at >= week_ago
        )
    ).one()
    low = [
        (fund.name, figures.balance_fen)
        for fund, figures in fund_queries.funds_with_figures(active_only=True)
        if figures.balance_fen < LOW_BALANCE_FEN
    ]
    proposals = db.session.scalar(
        select(func.count()).select_from(PurchaseProposal).where(PurchaseProposal.status == ProposalStatus.OPEN)
    )
    extra_sections = current_app.extensions.get(FUND_DIGEST_SECTIONS, [])
    year, week, _day = local_now.isocalendar()
    currency = current_app.config["CURRENCY"]
    stopped = _skip(admins)
    sent = 0
    for user in admins:
        if user.email.lower() in stopped:
            continue

        def compose() -> Message:
            paragraphs = [
                _(
                    "New donations in the last seven days: %(n)d, %(amount)s in all",
                    n=new_count,
                    amount=format_money(new_sum, currency),
                ),
                _("Overdue gifts proposed for purchase, waiting for a decision: %(n)d", n=proposals),
            ]
            for section in extra_sections:
                paragraphs.extend(section())
            if low:
                paragraphs.append(_("Funds running low:"))
            return Message(
                subject=_("This week in the funds: %(n)d new donations", n=new_count),
                paragraphs=paragraphs,
                rows=[[name, format_money(balance, currency)] for name, balance in low],
                links=[(_("Fund administration"), public_url("funds.admin_dashboard"))],
            )

        sent += queue_mail(
            kind="digest.fund_admin",
            address=user.email,
            locale=locale_for(user.email),
            compose=compose,
            dedupe_key=f"digest:fund_admin:{user.id}:{year}-W{week:02d}",
        )
    return sent
