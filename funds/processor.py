"""What the payment processor kept and moved, in the ledger: fees and payouts.

Each posting is keyed by the processor's own id (a balance transaction, a payout), so a
reconciliation run that sees the same row again posts nothing. The caller commits.
"""

from core import audit
from core.audit import Actor
from core.errors import ValidationError
from core.money import is_whole
from funds import ledger

#: Journals sent per statement pair when fees are posted together: bounded memory, few round trips.
CHUNK = 5000


def fee_key(balance_transaction_id: str) -> str:
    return f"stripe:fee:{balance_transaction_id}"


def payout_key(payout_id: str, fund_id: int) -> str:
    return f"stripe:payout:{payout_id}:fund:{fund_id}"


def post_fees(fees: list[tuple[int, int, int, str]], actor: Actor) -> None:
    """Charge processor fees to the funds that received the gifts: (fund id, donation id, fee in fen,
    balance transaction id) each, once per balance transaction. A negative fee (a fee given back)
    credits it. The journals go to the database CHUNK at a time (ledger.post_many): a month's fees
    are thousands of rows, and a chunk's statement parameters are all held in memory at once.
    The run that posts them records how many in its audit row."""
    for _fund_id, _donation_id, fee_fen, _txn in fees:
        if not is_whole(fee_fen) or fee_fen == 0:
            raise ValidationError(fields={"fee_fen": "a fee is a non-zero whole number of fen"})
    for start in range(0, len(fees), CHUNK):
        ledger.post_many(
            [
                (
                    fee_key(txn),
                    fund_id,
                    [(ledger.FEES, fee_fen), ("asset:stripe", -fee_fen)],
                    f"processor fee {txn}",
                    donation_id,
                )
                for fund_id, donation_id, fee_fen, txn in fees[start : start + CHUNK]
            ],
            actor,
        )


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
