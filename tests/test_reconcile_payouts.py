"""Layer two, charge ↔ payout, is a pure function: every injected discrepancy in a payout is found, each
fund's share is what its rows add up to, and no row is counted in two payouts."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from payments.balance import BalanceRow
from reconcile.matching import Kind, LedgerDonation, finder
from reconcile.payouts import Payout, match_payouts

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def donation(n: int, amount: int) -> LedgerDonation:
    return LedgerDonation(id=n, public_id=f"d{n}", fund_id=1 + n % 3, amount_fen=amount, payment_intent_id=f"pi_{n}")


def row(txn: str, category: str, amount: int, fee: int = 0, *, intent: str | None = None, minute: int = 0):
    return BalanceRow(
        id=txn,
        category=category,
        amount_fen=amount,
        fee_fen=fee,
        net_fen=amount - fee,
        currency="CNY",
        created=T0 + timedelta(minutes=minute),
        source_id=f"ch_{txn}" if category == "charge" else None,
        charge_id=f"ch_{txn}" if category == "charge" else None,
        payment_intent_id=intent,
    )


def charge_of(d: LedgerDonation, fee: int = 30) -> BalanceRow:
    return row(f"txn_{d.id}", "charge", d.amount_fen, fee, intent=d.payment_intent_id, minute=d.id)


def payout(po: str, rows: list[BalanceRow], *, amount: int | None = None, minute: int = 10_000) -> Payout:
    total = sum(r.net_fen for r in rows) if amount is None else amount
    own = BalanceRow(
        id=f"txn_{po}",
        category="payout",
        amount_fen=-total,
        fee_fen=0,
        net_fen=-total,
        currency="CNY",
        created=T0 + timedelta(minutes=minute),
        source_id=po,
    )
    return Payout(own, tuple(rows))


def test_a_payout_of_known_charges_is_shared_by_fund():
    gifts = [donation(n, 10_000 + n) for n in range(6)]
    rows = [charge_of(d) for d in gifts]
    result = match_payouts([payout("po_1", rows)], finder(gifts))
    assert result.items == [] and result.matched == 1
    shares = result.shares["po_1"]
    assert shares == {
        fund: sum(r.net_fen for d, r in zip(gifts, rows, strict=True) if d.fund_id == fund) for fund in (1, 2, 3)
    }


def test_each_kind_of_payout_discrepancy_is_an_item_and_moves_nothing():
    gifts = [donation(n, 5_000) for n in range(4)]
    find = finder(gifts)
    stranger = row("txn_x", "charge", 777, 26, intent="pi_unknown")
    billing = row("txn_bill", "stripe_fee", -500)
    short = payout("po_short", [charge_of(gifts[0])], amount=charge_of(gifts[0]).net_fen - 3)
    with_stranger = payout("po_stranger", [charge_of(gifts[1]), stranger], minute=10_001)
    with_billing = payout("po_billing", [charge_of(gifts[2]), billing], minute=10_002)

    result = match_payouts([short, with_stranger, with_billing], find)

    found = {(i.kind, i.reference): i for i in result.items}
    assert set(found) == {
        (Kind.AMOUNT_MISMATCH, "po_short"),
        (Kind.MISSING_HERE, "txn_x"),
        (Kind.NO_FUND, "po_stranger"),
        (Kind.NO_FUND, "po_billing"),
    }
    mismatch = found[(Kind.AMOUNT_MISMATCH, "po_short")]
    assert mismatch.amount_fen == charge_of(gifts[0]).net_fen - 3 and mismatch.difference_fen == -3
    assert found[(Kind.NO_FUND, "po_billing")].difference_fen == -500
    assert found[(Kind.NO_FUND, "po_stranger")].difference_fen == 777 - 26
    assert found[(Kind.MISSING_HERE, "txn_x")].amount_fen == 777
    assert result.shares == {} and result.matched == 0


def test_a_stranger_layer_one_reported_is_not_reported_twice():
    stranger = row("txn_x", "charge", 777, 26)
    result = match_payouts([payout("po_1", [stranger])], finder([]), reported={"txn_x"})
    assert [(i.kind, i.reference) for i in result.items] == [(Kind.NO_FUND, "po_1")]


def test_a_charge_in_no_payout_is_not_an_item():
    gifts = [donation(n, 5_000) for n in range(3)]
    rows = [charge_of(d) for d in gifts]
    # Only the first two were paid out; the third waits for the next payout.
    result = match_payouts([payout("po_1", rows[:2])], finder(gifts))
    assert result.items == [] and result.matched == 1


amounts = st.lists(st.integers(min_value=100, max_value=5_000_000), min_size=6, max_size=30)


@settings(max_examples=60, deadline=None)
@given(amounts=amounts, data=st.data())
def test_every_injected_payout_discrepancy_is_found_and_no_row_counts_twice(amounts, data):
    gifts = [donation(n, amount) for n, amount in enumerate(amounts)]
    find = finder(gifts)
    rows = [charge_of(d, fee=30 + d.id % 7) for d in gifts]
    # Cut the charges into payouts of one or more rows each.
    cuts = sorted(data.draw(st.sets(st.integers(min_value=1, max_value=len(rows) - 1), min_size=3, max_size=5)))
    groups = [rows[a:b] for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True)]
    payouts = [payout(f"po_{n}", group, minute=10_000 + n) for n, group in enumerate(groups)]
    off, stray, repeat = data.draw(st.permutations(range(len(payouts))))[:3]
    off_by = data.draw(st.integers(min_value=-99, max_value=99).filter(lambda n: n != 0))
    expected = set()

    short = payouts[off]
    payouts[off] = payout(short.id, list(short.rows), amount=-short.row.amount_fen + off_by, minute=10_000 + off)
    expected.add((Kind.AMOUNT_MISMATCH, short.id, off_by))

    stranger = row(f"txn_stranger_{stray}", "charge", 999, 30)
    mixed = payouts[stray]
    payouts[stray] = payout(mixed.id, [*mixed.rows, stranger], minute=10_000 + stray)
    expected.add((Kind.MISSING_HERE, stranger.id, 999))
    expected.add((Kind.NO_FUND, mixed.id, stranger.net_fen))

    # A row Stripe (wrongly) lists in a later payout too: counted in the first, a duplicate in the second.
    later = max(range(len(payouts)), key=lambda n: payouts[n].row.created)
    if repeat != later and later not in (off, stray):
        twice = payouts[repeat].rows[0]
        host = payouts[later]
        payouts[later] = payout(host.id, [*host.rows, twice], amount=-host.row.amount_fen, minute=10_000 + later)
        expected.add((Kind.DUPLICATE, twice.id, twice.net_fen))

    # Overlapping pages list a payout twice: it is one payout.
    payouts.append(payouts[0])
    result = match_payouts(payouts, find)

    assert {(i.kind, i.reference, i.difference_fen) for i in result.items} == expected
    settled = set(result.shares)
    assert settled.isdisjoint({short.id, mixed.id})
    for p in {p.id: p for p in payouts}.values():
        if p.id in settled:
            assert sum(result.shares[p.id].values()) == -p.row.amount_fen
    assert result.matched == len(settled)
