"""Refunding an online donation through Stripe, after a confirmation that names the amount and the donor.

The request is recorded (audited) and committed before Stripe is asked, as a Checkout Session
is (core.transactions.commit_before_external_call); Stripe is asked with an idempotency key
made when the confirmation page was shown, so a retry of the same confirmation refunds once.
The ledger follows Stripe's `charge.refunded` event (payments.apply), never this request.
"""

import re

from flask_babel import gettext as _

from core import audit
from core.errors import Forbidden, ValidationError
from core.models import Role, User
from core.transactions import commit_before_external_call
from funds.models import ONLINE_CHANNELS, Donation, DonationStatus
from payments import gateway

#: The confirmation's own token: made when the page is shown, sent back with the form.
NONCE = re.compile(r"^[0-9a-f]{32}$")


def refundable_fen(donation: Donation) -> int:
    return donation.amount_fen - donation.refunded_fen - donation.disputed_fen


def goes_through_stripe(donation: Donation) -> bool:
    return donation.channel in ONLINE_CHANNELS and not donation.simulated and gateway.enabled()


def check(actor: User, donation: Donation, amount_fen, nonce: str) -> int:
    if not isinstance(actor, User) or not actor.has_role(Role.FUND_ADMIN):
        raise Forbidden(_("Only a fund administrator may refund."))
    if not goes_through_stripe(donation):
        raise ValidationError(_("This donation was not paid through Stripe."))
    if donation.status not in (DonationStatus.SUCCEEDED, DonationStatus.PARTIALLY_REFUNDED):
        raise ValidationError(_("Only a paid donation can be refunded."))
    if not NONCE.match(nonce or ""):
        raise ValidationError(_("The confirmation expired: open it again."))
    most = refundable_fen(donation)
    if not isinstance(amount_fen, int) or amount_fen <= 0 or amount_fen > most:
        raise ValidationError(fields={"amount": _("At most %(n)s yuan can be refunded.", n=most / 100)})
    return amount_fen


def request_refund(actor: User, donation: Donation, amount_fen, nonce: str) -> str:
    """Record the request, commit it, then ask Stripe; the Stripe refund's id. Commits."""
    amount_fen = check(actor, donation, amount_fen, nonce)
    key = f"refund-{donation.public_id}-{nonce}"
    audit.record(
        "donation.refund_requested",
        donation,
        actor,
        after={"amount_fen": amount_fen, "idempotency_key": key},
    )
    commit_before_external_call()
    refund_id = gateway.refund(donation, amount_fen, key)
    audit.record("donation.refund_sent", donation, actor, after={"amount_fen": amount_fen, "refund": refund_id})
    return refund_id
