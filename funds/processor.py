"""What the payment processor kept and moved, in the ledger: fees and payouts.

Each posting is keyed by the processor's own id (a balance transaction, a payout), so a
reconciliation run that sees the same row again posts nothing. The caller commits.
"""

from core import audit
from core.audit import Actor
from core.errors import ValidationError
from core.money import is_whole
from funds import ledger


def fee_key(balance_transaction_id: str) -> str:
    return f"stripe:fee:{balance_transaction_id}"


def payout_key(payout_id: str, fund_id: int) -> str:
    return f"stripe:payout:{payout_id}:fund:{fund_id}"


def post_fee(fund_id: int, donation_id: int, fee_fen: int, balance_transaction_id: str, actor: Actor) -> bool:
    """Charge the processor's fee on a donation's money to the donation's fund, once per balance
    transaction; False when it was posted before. A negative fee (a fee refunded) credits it back."""
    if not is_whole(fee_fen) or fee_fen == 0:
        raise ValidationError(fields={"fee_fen": "a fee is a non-zero whole number of fen"})
    journal, new = ledger.post(
        fee_key(balance_transaction_id),
        fund_id,
        [(ledger.FEES, fee_fen), ("asset:stripe", -fee_fen)],
        f"processor fee {balance_transaction_id}",
        actor,
        donation_id=donation_id,
    )
    if new:
        audit.record(
            "ledger.fee_posted",
            journal,
            actor,
            after={"fee_fen": fee_fen, "balance_transaction": balance_transaction_id},
        )
    return bool(new)


def post_payout(payout_id: str, fund_id: int, amount_fen: int, actor: Actor) -> bool:
    """Move a fund's share of a payout from the Stripe balance to the bank account, once."""
    if not is_whole(amount_fen) or amount_fen == 0:
        raise ValidationError(fields={"amount_fen": "a payout share is a non-zero whole number of fen"})
    journal, new = ledger.post(
        payout_key(payout_id, fund_id),
        fund_id,
        [("asset:bank", amount_fen), ("asset:stripe", -amount_fen)],
        f"payout {payout_id}",
        actor,
    )
    if new:
        audit.record("ledger.payout_posted", journal, actor, after={"amount_fen": amount_fen, "payout": payout_id})
    return bool(new)
