"""Matching Stripe's balance transactions against the ledger: a pure function, no database.

Layer one of reconciliation: each donation paid online ↔ its Stripe charge, found by the
donation id Checkout puts in the charge's metadata, else the payment intent, else the
charge id. Refunds and disputes are compared per donation as totals (several rows may
settle one entry). Every Stripe row is looked at once, and a donation is matched by at most
one charge: a second charge naming it is a duplicate, never a second match.

Amounts are signed as Stripe signs them (money in is positive, a refund negative), and a
difference is Stripe's figure less the ledger's.
"""

import enum
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from payments.balance import CHARGE, DISPUTE, DISPUTE_REVERSAL, REFUND, BalanceRow


class Kind(enum.StrEnum):
    MISSING_HERE = "missing_here"
    MISSING_THERE = "missing_there"
    AMOUNT_MISMATCH = "amount_mismatch"
    DUPLICATE = "duplicate"
    #: Bank statements only: one candidate found by amount and date, waiting for a person.
    SUGGESTED = "suggested"
    #: Bank statements only: more than one candidate; never matched by itself.
    AMBIGUOUS = "ambiguous"
    #: A payout holding money that is no fund's (Stripe's own billing, a stranger's charge): nothing is moved.
    NO_FUND = "no_fund"


@dataclass(frozen=True, slots=True)
class LedgerDonation:
    """A donation paid online, as the ledger has it.

    `in_period`: it succeeded inside the period, so Stripe's list must hold its charge.
    `refunded_fen` / `disputed_fen`: refunds and disputes (net of disputes won) posted in the period.
    """

    id: int
    public_id: str
    fund_id: int
    amount_fen: int
    payment_intent_id: str | None = None
    charge_id: str | None = None
    in_period: bool = True
    refunded_fen: int = 0
    disputed_fen: int = 0

    @property
    def reference(self) -> str:
        return self.charge_id or self.payment_intent_id or self.public_id


@dataclass(frozen=True, slots=True)
class Item:
    kind: Kind
    reference: str
    amount_fen: int
    difference_fen: int
    donation: str | None = None


@dataclass(frozen=True, slots=True)
class Fee:
    """A processor fee to post: the row's fee on the donation's money, charged to its fund."""

    row: BalanceRow
    donation: LedgerDonation


@dataclass
class Result:
    matched: int = 0
    items: list[Item] = field(default_factory=list)
    fees: list[Fee] = field(default_factory=list)


def finder(donations: list[LedgerDonation]) -> Callable[[BalanceRow], LedgerDonation | None]:
    """A lookup of the donation a Stripe row names: by donation id, else payment intent, else charge."""
    by_ref: dict[str, LedgerDonation] = {}
    for donation in donations:
        for ref in (donation.charge_id, donation.payment_intent_id, donation.public_id):
            if ref:
                by_ref.setdefault(ref, donation)

    def find(row: BalanceRow) -> LedgerDonation | None:
        for ref in row.refs:
            if ref in by_ref:
                return by_ref[ref]
        return None

    return find


def match(donations: list[LedgerDonation], rows: list[BalanceRow], posted_fees: dict[str, int] | None = None) -> Result:
    """Compare; `posted_fees` holds the fees already posted, by balance transaction id."""
    posted_fees = posted_fees or {}
    find = finder(donations)
    result = Result()
    charged: set[int] = set()
    refunds: dict[int, list[BalanceRow]] = defaultdict(list)
    disputes: dict[int, list[BalanceRow]] = defaultdict(list)
    seen: set[str] = set()
    for row in sorted(rows, key=lambda r: (r.created, r.id)):
        if row.id in seen or row.category not in (CHARGE, REFUND, DISPUTE, DISPUTE_REVERSAL):
            # A page listed twice repeats a row, it does not add one; other categories
            # (payouts, Stripe's own billing) name no donation.
            continue
        seen.add(row.id)
        donation = find(row)
        if donation is None:
            result.items.append(Item(Kind.MISSING_HERE, row.id, row.amount_fen, row.amount_fen))
            continue
        if row.category == CHARGE:
            if donation.id in charged:
                result.items.append(Item(Kind.DUPLICATE, row.id, row.amount_fen, row.amount_fen, donation.public_id))
                continue
            charged.add(donation.id)
            if row.amount_fen != donation.amount_fen:
                result.items.append(
                    Item(
                        Kind.AMOUNT_MISMATCH,
                        row.id,
                        row.amount_fen,
                        row.amount_fen - donation.amount_fen,
                        donation.public_id,
                    )
                )
            else:
                result.matched += 1
        elif row.category == REFUND:
            refunds[donation.id].append(row)
        else:
            disputes[donation.id].append(row)
        _fee(result, row, donation, posted_fees)

    for donation in donations:
        if donation.in_period and donation.id not in charged:
            result.items.append(
                Item(
                    Kind.MISSING_THERE,
                    donation.reference,
                    donation.amount_fen,
                    -donation.amount_fen,
                    donation.public_id,
                )
            )
        _compare_totals(result, donation, refunds.get(donation.id, []), donation.refunded_fen)
        _compare_totals(result, donation, disputes.get(donation.id, []), donation.disputed_fen)
    return result


def _fee(result: Result, row: BalanceRow, donation: LedgerDonation, posted_fees: dict[str, int]) -> None:
    if row.id in posted_fees:
        if posted_fees[row.id] != row.fee_fen:
            result.items.append(
                Item(
                    Kind.AMOUNT_MISMATCH,
                    f"{row.id}:fee",
                    row.fee_fen,
                    row.fee_fen - posted_fees[row.id],
                    donation.public_id,
                )
            )
    elif row.fee_fen:
        result.fees.append(Fee(row, donation))


def _compare_totals(result: Result, donation: LedgerDonation, rows: list[BalanceRow], ledger_back: int) -> None:
    """Money that went back against what the ledger posted for it, both signed as Stripe signs
    them (money out is negative)."""
    if not rows and not ledger_back:
        return
    stripe_fen = sum(row.amount_fen for row in rows)
    ledger_fen = -ledger_back
    difference = stripe_fen - ledger_fen
    if difference == 0:
        result.matched += len(rows)
    elif not rows:
        result.items.append(Item(Kind.MISSING_THERE, donation.reference, ledger_fen, difference, donation.public_id))
    elif not ledger_fen:
        for row in rows:
            result.items.append(Item(Kind.MISSING_HERE, row.id, row.amount_fen, row.amount_fen, donation.public_id))
    else:
        result.items.append(Item(Kind.AMOUNT_MISMATCH, rows[-1].id, stripe_fen, difference, donation.public_id))
