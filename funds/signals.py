"""What the funds package tells the packages above it, which connect at start-up.

`donation_succeeded` is sent once per donation, inside the transaction that records its
money as arrived (online through payments, or offline by a fund administrator), after
the donation row and its ledger journal are flushed. Receivers must not commit.
"""

from blinker import Namespace

_signals = Namespace()

donation_succeeded = _signals.signal("donation-succeeded")
