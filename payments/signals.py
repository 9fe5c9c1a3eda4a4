"""What the payments package tells the packages above it, which connect at start-up.

`donation_paid` is sent once, when a donation's payment is first recorded as succeeded;
a receiver may return a reason for a fund administrator to review (the money stands and
the event is applied, but what it paid for needs a person), or None.
`donation_payment_failed` is sent once, when a pending donation's payment fails or expires.
Both are sent inside the applying transaction, with `actor` as a keyword.
"""

from blinker import Namespace

_signals = Namespace()

donation_paid = _signals.signal("donation-paid")
donation_payment_failed = _signals.signal("donation-payment-failed")
