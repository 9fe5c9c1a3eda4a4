"""The matching of Stripe's rows with the ledger is a pure function: every injected difference is found,
and no row is matched twice."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from payments.balance import BalanceRow
from reconcile.matching import Kind, LedgerDonation, match

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def donation(n: int, amount: int, refunded: int = 0) -> LedgerDonation:
    return LedgerDonation(
        id=n,
        public_id=f"d{n}",
        fund_id=1 + n % 3,
        amount_fen=amount,
        payment_intent_id=f"pi_{n}",
        refunded_fen=refunded,
    )


def charge(d: LedgerDonation, txn: str, *, amount=None, fee=30, by="metadata", minute=0) -> BalanceRow:
    refs = {
        "metadata": {"donation_public_id": d.public_id},
        "intent": {"payment_intent_id": d.payment_intent_id},
    }[by]
    amount = d.amount_fen if amount is None else amount
    return BalanceRow(
        id=txn,
        category="charge",
        amount_fen=amount,
        fee_fen=fee,
        net_fen=amount - fee,
        currency="CNY",
        created=T0 + timedelta(minutes=minute),
        charge_id=f"ch_{txn}",
        **refs,
    )


def refund(d: LedgerDonation, txn: str, amount: int) -> BalanceRow:
    return BalanceRow(
        id=txn,
        category="refund",
        amount_fen=-amount,
        fee_fen=0,
        net_fen=-amount,
        currency="CNY",
        created=T0 + timedelta(days=1),
        payment_intent_id=d.payment_intent_id,
    )


gifts = st.lists(st.integers(min_value=100, max_value=5_000_000), min_size=6, max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    amounts=gifts,
    data=st.data(),
)
def test_every_injected_difference_is_found_and_nothing_else(amounts, data):
    ledger = [donation(n, amount) for n, amount in enumerate(amounts)]
    rows = {
        d.id: charge(d, f"txn_{d.id}", by=data.draw(st.sampled_from(["metadata", "intent"])), minute=d.id)
        for d in ledger
    }
    picked = data.draw(st.permutations(range(len(ledger))))
    missing, mismatched, doubled, refunded_late = picked[:4]
    off_by = data.draw(st.integers(min_value=-99, max_value=99).filter(lambda n: n != 0))
    expected = set()

    del rows[missing]
    expected.add((Kind.MISSING_THERE, ledger[missing].payment_intent_id, -ledger[missing].amount_fen))
    bad = rows[mismatched]
    rows[mismatched] = charge(ledger[mismatched], bad.id, amount=bad.amount_fen + off_by, minute=mismatched)
    expected.add((Kind.AMOUNT_MISMATCH, bad.id, off_by))
    extra = [charge(ledger[doubled], "txn_again", minute=999)]
    expected.add((Kind.DUPLICATE, "txn_again", ledger[doubled].amount_fen))
    stranger = charge(donation(10_000, 4321), "txn_stranger")
    extra.append(stranger)
    expected.add((Kind.MISSING_HERE, "txn_stranger", 4321))
    # The ledger booked a refund in the period; Stripe's row for it falls after the period.
    late = ledger[refunded_late]
    ledger[refunded_late] = donation(late.id, late.amount_fen, refunded=late.amount_fen // 2)
    expected.add((Kind.MISSING_THERE, late.payment_intent_id, late.amount_fen // 2))
    # A fee Stripe changed by one fen after it was posted.
    fee_changed = picked[4]
    posted = {rows[fee_changed].id: rows[fee_changed].fee_fen - 1}
    expected.add((Kind.AMOUNT_MISMATCH, f"{rows[fee_changed].id}:fee", 1))

    all_rows = list(rows.values()) + extra
    result = match(ledger, data.draw(st.permutations(all_rows)), posted)

    assert {(i.kind, i.reference, i.difference_fen) for i in result.items} == expected
    # Every charge row is matched, or is the one item it caused, never both, never twice.
    charge_items = [i for i in result.items if i.reference in {r.id for r in all_rows}]
    assert result.matched + len(charge_items) == len(all_rows)
    assert len({i.reference for i in charge_items}) == len(charge_items)
    # Each fee is posted once, except the one already posted and the duplicate's and stranger's.
    assert sorted(f.row.id for f in result.fees) == sorted(r.id for r in rows.values() if r.id not in posted)


@settings(max_examples=40, deadline=None)
@given(parts=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=5))
def test_several_refund_rows_settle_one_refund(parts):
    d = donation(1, sum(parts) + 100, refunded=sum(parts))
    rows = [charge(d, "txn_c")] + [refund(d, f"txn_r{n}", part) for n, part in enumerate(parts)]
    result = match([d], rows)
    assert result.items == [] and result.matched == 1 + len(parts)
    short = match([d], rows[:-1]) if len(parts) > 1 else match([d], rows[:1])
    [item] = short.items
    assert item.difference_fen == parts[-1]


def test_a_repeated_page_repeats_rows_but_adds_none():
    d = donation(1, 500)
    row = charge(d, "txn_1")
    result = match([d], [row, row])
    assert result.items == [] and result.matched == 1 and len(result.fees) == 1
