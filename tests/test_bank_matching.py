"""Bank lines against the ledger, a pure function: references first, then amount and date, never a guess."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.bankmatch import BankLine, Entry, match_bank
from reconcile.matching import Kind

D0 = date(2026, 5, 4)


def pledge(n, amount, on=D0, code=None):
    return Entry(f"donation:{n}", amount, on, codes=(code or f"WXY{n:06d}",), donation=f"d{n}")


def line(n, amount, text="", on=D0):
    return BankLine(n, on, amount, text, f"row {n}")


def kinds(result):
    return {(i.kind, i.reference) for i in result.items}


def test_reference_matches_and_several_lines_settle_one_entry():
    a, b, c = pledge(1, 50_000), pledge(2, 30_000), pledge(3, 20_000)
    payout = Entry("payout:po_77AAbb", 120_000, D0, codes=("po_77AAbb",))
    lines = [
        line(1, 50_000, "转账 WXY000001 王先生"),
        line(2, 50_000, "WXY000002 WXY000003 两笔认捐"),
        line(3, 70_000, "STRIPE po_77AAbb 1/2"),
        line(4, 50_000, "STRIPE po_77AAbb 2/2"),
    ]
    result = match_bank(lines, [a, b, c, payout])
    assert result.items == [] and result.matched == 4
    assert sorted(result.links) == [
        (1, "donation:1"),
        (2, "donation:2"),
        (2, "donation:3"),
        (3, "payout:po_77AAbb"),
        (4, "payout:po_77AAbb"),
    ]


def test_amount_and_date_only_suggest_and_never_match():
    one, two, three = (
        pledge(1, 8_800, code="-"),
        pledge(2, 6_600, code="-"),
        pledge(3, 6_600, on=D0 + timedelta(days=1)),
    )
    far = pledge(4, 5_000, on=D0 + timedelta(days=20))
    lines = [line(1, 8_800, "张三"), line(2, 6_600, "李四"), line(3, 5_000, "王五")]
    result = match_bank(lines, [one, two, three, far])
    assert result.matched == 0 and result.links == []
    assert kinds(result) == {
        (Kind.MISSING_HERE, "row 3"),
        (Kind.MISSING_THERE, "donation:4"),
        (Kind.SUGGESTED, "row 1"),
        (Kind.AMBIGUOUS, "row 2"),
    }
    assert result.suggestions == {1: "donation:1"}


def test_a_payout_split_over_two_unreferenced_lines_is_suggested():
    payout = Entry("payout:po_1", 100_000, D0)
    result = match_bank([line(1, 40_000, "x"), line(2, 60_000, "y"), line(3, 7, "z")], [payout])
    assert result.suggestions == {1: "payout:po_1", 2: "payout:po_1"}
    assert kinds(result) == {(Kind.MISSING_HERE, "row 3"), (Kind.SUGGESTED, "row 1"), (Kind.SUGGESTED, "row 2")}


@settings(max_examples=60, deadline=None)
@given(
    amounts=st.lists(st.integers(min_value=100, max_value=10_000_000), min_size=5, max_size=30, unique=True),
    data=st.data(),
)
def test_every_injected_difference_is_found_and_no_line_matched_twice(amounts, data):
    entries = [pledge(n, amount, on=D0 + timedelta(days=n % 9)) for n, amount in enumerate(amounts)]
    lines = {n: line(n, e.amount_fen, f"汇款 {e.codes[0]}", on=e.on) for n, e in enumerate(entries)}
    missing, off, doubled, split = data.draw(st.permutations(range(len(entries))))[:4]
    expected = set()
    del lines[missing]
    expected.add((Kind.MISSING_THERE, entries[missing].key))
    delta = data.draw(st.integers(min_value=-50, max_value=50).filter(bool))
    lines[off] = line(off, entries[off].amount_fen + delta, lines[off].text, on=lines[off].booked_on)
    expected.add((Kind.AMOUNT_MISMATCH, f"row {off}"))
    copy = lines[doubled]
    lines[1000] = BankLine(1000, copy.booked_on, copy.amount_fen, copy.text, "row 1000")
    expected.add((Kind.DUPLICATE, "row 1000"))
    whole = lines.pop(split)
    part = whole.amount_fen // 3
    lines[2000] = line(2000, part, whole.text, on=whole.booked_on)
    lines[2001] = line(2001, whole.amount_fen - part, whole.text, on=whole.booked_on)
    stranger = line(3000, 1, "不明来款")
    lines[3000] = stranger
    expected.add((Kind.MISSING_HERE, "row 3000"))

    result = match_bank(list(lines.values()), entries)

    assert {(i.kind, i.reference) for i in result.items} == expected
    linked_lines = [line_id for line_id, _key in result.links]
    assert len(linked_lines) == len(set(linked_lines))
    assert result.matched == len(lines) - 3  # the mismatch, the repeat and the stranger
    off_item = next(i for i in result.items if i.kind == Kind.AMOUNT_MISMATCH)
    assert off_item.difference_fen == delta
