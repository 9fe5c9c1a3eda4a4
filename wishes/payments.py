"""Paying a wish in full online: a money claim held while its payment is pending.

The claim is made and the donation created in one transaction; the payment's outcome
arrives through `payments.signals`, whose receivers are connected at start-up
(`connect_payment_signals`): a paid claim keeps its wish for the normal time, a failed
payment gives the wish back to the list.
"""

from flask_babel import gettext as _
from sqlalchemy import select

from core.audit import Actor
from core.errors import Conflict, ValidationError
from core.extensions import db
from core.models import User
from funds import donations
from funds.models import ONLINE_CHANNELS, Donation
from payments import signals
from wishes import services
from wishes.models import Claim, ClaimSource, FulfilmentMode, WishStatus


def wish_payable(wish) -> bool:
    """A wish that can be fulfilled with money and has an open fund can be paid online in full."""
    return wish.allows_mode(FulfilmentMode.MONEY) and wish.fund is not None and wish.fund.active


def pay_for_wish(
    wish, donor: donations.DonorInput, channel: str, account: User | None = None, *, source: str = "web"
) -> Donation:
    """Claim a wish for one donor paying its full amount online, held until the payment ends."""
    if not wish_payable(wish):
        raise ValidationError(_("This wish cannot be paid online: it takes a gift, or it has no fund."))
    if wish.status != WishStatus.PUBLISHED:
        raise Conflict(_("Someone has already claimed this wish."))
    target = donations.Target(wish.fund, wish_id=wish.id)
    donations.check_amount(wish.amount_fen, target)
    if channel not in ONLINE_CHANNELS:
        raise ValidationError(fields={"channel": _("Choose card, Alipay or WeChat Pay.")})
    donations.check_donor(donor, target)
    claim, _token = services.claim_wish(
        wish,
        services.ClaimInput(
            name=donor.name,
            contact=donor.contact,
            display_name=donor.display_name,
            anonymous=donor.anonymous,
            mode=FulfilmentMode.MONEY,
            source=source if source in (ClaimSource.WEB, ClaimSource.QR, ClaimSource.API) else ClaimSource.WEB,
            client_key=donor.client_key,
        ),
        donor=account,
    )
    donation = donations.create_donation(target, wish.amount_fen, donor, channel, account)
    services.hold_for_payment(claim, donation, account or f"donor:{claim.public_id}")
    return donation


def pay_for_wish_by_id(
    public_id: str, amount_fen, donor: donations.DonorInput, channel: str, account: User | None = None
) -> Donation:
    """`POST /api/v1/donations` with a wish: the amount must be the whole wish's, as on the wish's own page."""
    wish = services.get_public_wish(public_id)
    if amount_fen != wish.amount_fen:
        raise ValidationError(
            fields={"amount_fen": _("A wish is paid in full: the amount must be %(n)d fen.", n=wish.amount_fen)}
        )
    return pay_for_wish(wish, donor, channel, account, source=ClaimSource.API)


def claim_paid_by(donation: Donation):
    if donation.wish_id is None:
        # Only a donation for a wish pays a claim (pay_for_wish).
        return None
    return db.session.scalar(select(Claim).where(Claim.donation_id == donation.id))


def on_donation_paid(donation: Donation, *, actor: Actor) -> str | None:
    """The claim paid by this donation keeps its wish; a reason for review if it had been released."""
    claim = claim_paid_by(donation)
    if claim is None or services.claim_paid(claim, actor):
        return None
    return (
        f"donation {donation.public_id} for wish {claim.wish.public_id} was paid after its claim "
        f"{claim.public_id} was {claim.status}: the money stands, the wish needs a decision"
    )


def on_donation_payment_failed(donation: Donation, *, actor: Actor) -> bool:
    """The claim paid by this donation is cancelled and its wish goes back to the list."""
    claim = claim_paid_by(donation)
    return claim is not None and services.claim_payment_failed(claim, actor)


def connect_payment_signals() -> None:
    signals.donation_paid.connect(on_donation_paid)
    signals.donation_payment_failed.connect(on_donation_payment_failed)
