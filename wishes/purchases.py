"""A fund buying a wish's gift: which wishes it may buy for, and the wish moving on once it is paid.

The funds package asks and tells through `funds.signals`; the receivers are connected at
start-up (`connect_fund_signals`), so funds never reads a wish itself.
"""

from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.audit import Actor
from core.clock import as_utc
from core.extensions import db
from funds import signals
from funds.models import Disbursement
from wishes import services
from wishes.models import Claim, ClaimStatus, FulfilmentMode, Wish, WishStatus


def _active_claim(wish: Wish) -> Claim | None:
    return db.session.scalar(select(Claim).where(Claim.wish_id == wish.id, Claim.status == ClaimStatus.ACTIVE))


def check_purchase(_sender, *, wish: str, fund_id: int) -> tuple[int | None, str | None]:
    """(the wish's id, None) when the fund may buy its gift: the wish takes money, belongs to the
    fund and is claimed by a donor who gives money for it; else (None, why not)."""
    found = db.session.scalar(select(Wish).where(Wish.public_id == wish))
    if found is None:
        return None, _("No such wish.")
    if not found.allows_mode(FulfilmentMode.MONEY) or found.fund_id != fund_id:
        return None, _("This wish is not one this fund buys gifts for.")
    claim = _active_claim(found) if found.status == WishStatus.CLAIMED else None
    if claim is None or claim.mode != FulfilmentMode.MONEY:
        return None, _("Only a wish a donor has given money for can have its gift bought.")
    return found.id, None


def on_disbursement_paid(disbursement: Disbursement, *, actor: Actor) -> None:
    """The gift is bought: the claim is kept for the normal time, for the caseworker to deliver it."""
    if disbursement.wish_id is None:
        return
    wish = db.session.get(Wish, disbursement.wish_id)
    claim = _active_claim(wish) if wish is not None else None
    if claim is None:
        return
    due = services.claim_due_at(wish)
    before = {"due_at": as_utc(claim.due_at).isoformat()}
    if due > as_utc(claim.due_at):
        claim.due_at = due
    db.session.flush()
    audit.record(
        "claim.gift_purchased",
        claim,
        actor,
        before=before,
        after={"due_at": as_utc(claim.due_at).isoformat(), "disbursement": disbursement.id},
    )


def connect_fund_signals() -> None:
    signals.checking_wish_purchase.connect(check_purchase)
    signals.disbursement_paid.connect(on_disbursement_paid)


def transparency_section(fund) -> tuple[str, dict]:
    """The wishes this fund's money made come true, as the public may see them, on its transparency page,
    with the gift's photo where the caseworker chose to show it in public (never the child's face:
    confirm_fulfilment takes no photo without that promise)."""
    wishes = db.session.scalars(
        select(Wish)
        .where(Wish.fund_id == fund.id, Wish.status.in_((WishStatus.FULFILLED, WishStatus.CLOSED)))
        .order_by(Wish.fulfilled_at.desc(), Wish.id.desc())
        .limit(20)
    ).all()
    with_photo = set(
        db.session.scalars(
            select(Claim.wish_id).where(
                Claim.wish_id.in_([w.id for w in wishes]),
                Claim.status == ClaimStatus.FULFILLED,
                Claim.thanks_photo.is_not(None),
                Claim.thanks_photo_public.is_(True),
            )
        )
    )
    return "wishes/_transparency.html", {"wishes": [(w, w.child.public_view(), w.id in with_photo) for w in wishes]}
