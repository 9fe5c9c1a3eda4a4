"""Matching Stripe's charges with the payouts that took them to the bank: a pure function, no database.

Layer two of reconciliation. For each payout of the period Stripe lists the balance
transactions it paid out (`GET /v1/balance_transactions?payout=po_…`); their `net` adds up
to what left the Stripe balance for the bank. A payout is settled when every one of its rows
names a donation here and the rows add up to the payout: then each fund's share is moved
from the Stripe balance to the bank account. Otherwise nothing is moved and the payout is
an item:

- a charge (or refund, dispute) in the payout that names no donation here is `missing_here`,
  unless layer one already reported the same row in this run;
- a payout whose rows do not add up to its amount is an `amount_mismatch`, the difference
  being the payout's amount less the rows' net;
- a payout that adds up but holds money of no fund (Stripe's own billing, a stranger's
  charge) is `no_fund`, for that money;
- a row Stripe lists in two payouts counts in the first only; the repeat is a `duplicate`.

A charge of the period that no payout has paid out yet is not an item: Stripe pays out days
after the charge, and the payout that carries it will be compared by the run of its period.

Amounts: a payout row is negative in Stripe's list (money leaving the balance); an item
shows it as the positive sum the bank receives.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from payments.balance import CHARGE, DISPUTE, DISPUTE_REVERSAL, PAYOUT, REFUND, BalanceRow
from reconcile.matching import Item, Kind, LedgerDonation

#: Categories whose money names one donation: a row of these naming none is a stranger.
DONATION_CATEGORIES = (CHARGE, REFUND, DISPUTE, DISPUTE_REVERSAL)


@dataclass(frozen=True, slots=True)
class Payout:
    """A payout row of the period and the balance transactions Stripe lists for it."""

    row: BalanceRow
    rows: tuple[BalanceRow, ...] = ()

    @property
    def id(self) -> str:
        return self.row.source_id or self.row.id


@dataclass
class PayoutResult:
    #: Payouts whose rows all belong to funds and add up to the payout.
    matched: int = 0
    items: list[Item] = field(default_factory=list)
    #: payout id → fund id → fen of that fund's money the payout took to the bank (zero shares left out).
    shares: dict[str, dict[int, int]] = field(default_factory=dict)
    #: Every row the payouts listed, by id: what an item's row names (its charge) is read here.
    rows: dict[str, BalanceRow] = field(default_factory=dict)


def match_payouts(
    payouts: Iterable[Payout],
    find: Callable[[BalanceRow], LedgerDonation | None],
    reported: frozenset[str] | set[str] = frozenset(),
) -> PayoutResult:
    """Compare each payout with its rows; `reported` holds the row ids layer one already made items of."""
    result = PayoutResult()
    paid_out: set[str] = set()
    done: set[str] = set()
    for payout in sorted(payouts, key=lambda p: (p.row.created, p.id)):
        if payout.id in done:
            # The same payout on two overlapping pages is one payout.
            continue
        done.add(payout.id)
        expected = -payout.row.amount_fen
        shares: dict[int, int] = defaultdict(int)
        no_fund = 0
        own: set[str] = set()
        for row in payout.rows:
            if row.category == PAYOUT or row.id in own:
                continue
            own.add(row.id)
            result.rows[row.id] = row
            if row.id in paid_out:
                result.items.append(Item(Kind.DUPLICATE, row.id, row.net_fen, row.net_fen))
                continue
            paid_out.add(row.id)
            donation = find(row)
            if donation is None:
                no_fund += row.net_fen
                if row.category in DONATION_CATEGORIES and row.id not in reported:
                    result.items.append(Item(Kind.MISSING_HERE, row.id, row.amount_fen, row.amount_fen))
                continue
            shares[donation.fund_id] += row.net_fen
        total = sum(shares.values()) + no_fund
        if total != expected:
            result.items.append(Item(Kind.AMOUNT_MISMATCH, payout.id, expected, expected - total))
        elif no_fund:
            result.items.append(Item(Kind.NO_FUND, payout.id, expected, no_fund))
        else:
            result.matched += 1
            result.shares[payout.id] = {fund_id: fen for fund_id, fen in sorted(shares.items()) if fen}
    return result
