"""What happens to claims, told to the packages above without importing them.

Each signal is sent inside the transaction that made the change, after the change is
flushed, so a receiver may write in the same transaction (and is rolled back with it).
The sender is the Claim.
"""

from blinker import Namespace

_signals = Namespace()

#: A wish was claimed, through any door (public site, API, QR, an event's paddle).
claim_made = _signals.signal("claim-made")
#: An active claim ended without fulfilment (cancelled, expired, undone): the wish is open again.
claim_released = _signals.signal("claim-released")
#: The caseworker confirmed the gift reached the child.
wish_fulfilled = _signals.signal("wish-fulfilled")
