"""What the funds package tells the packages above it, which connect at start-up.

`checking_wish_purchase` is sent before a disbursement that buys a wish's gift is requested,
with `wish` (its public number) and `fund_id` as keywords; a receiver answers (the wish's id
or None, a reason to refuse or None). With no receiver connected nothing can vouch for the
wish, and the request is refused.
`disbursement_paid` is sent once, inside the paying transaction, when a disbursement's money
leaves the fund, with `actor` as a keyword: a wish whose gift it bought moves on to fulfilment.
`donation_succeeded` is sent once per donation, inside the transaction that records its
money as arrived (online through payments, or offline by a fund administrator), after
the donation row and its ledger journal are flushed. Receivers must not commit.
"""

from blinker import Namespace

_signals = Namespace()

checking_wish_purchase = _signals.signal("checking-wish-purchase")
disbursement_paid = _signals.signal("disbursement-paid")
donation_succeeded = _signals.signal("donation-succeeded")
