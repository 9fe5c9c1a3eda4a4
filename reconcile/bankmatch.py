"""Matching bank statement lines with the ledger: a pure function, no database.

Layer three of reconciliation: money that reached the bank account (offline donations,
Stripe payouts) and money that left it (disbursements) ↔ statement lines.

1. By reference: a line whose text (counterparty and purpose) holds an entry's code — the
   reference printed on a poster, receipt or transfer instruction, a receipt number, a payout
   id — is tied to that entry. Lines and entries tied together form groups (a payout split
   over two lines, one transfer paying two pledges); a group whose lines add up to its entries
   is matched; one that holds a line repeated (same amount, date and text) is a duplicate
   for the repeat; any other group is an amount mismatch with the exact difference.
2. By amount and date: a line left over with exactly one entry left over of the same amount
   within the date window is *suggested*, for a person to accept; with more than one, it is
   *ambiguous*; never matched by itself. A payout may also be suggested for two lines that
   add up to it.
3. What is left: a line is missing here; an entry of the period, missing there.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from reconcile.matching import Item, Kind

#: Days a line may be booked before or after its entry's date.
WINDOW_DAYS = 3
#: Codes shorter than this are too likely to appear by chance in a line's text.
MIN_CODE = 6


@dataclass(frozen=True, slots=True)
class BankLine:
    id: int
    booked_on: date
    amount_fen: int
    text: str
    reference: str


@dataclass(frozen=True, slots=True)
class Entry:
    """Something the ledger says passed through the bank account: money in positive."""

    key: str
    amount_fen: int
    on: date
    codes: tuple[str, ...] = ()
    donation: str | None = None
    in_period: bool = True


@dataclass
class BankResult:
    matched: int = 0
    items: list[Item] = field(default_factory=list)
    #: (line id, entry key) pairs the matching settled.
    links: list[tuple[int, str]] = field(default_factory=list)
    #: line id → the entry key suggested for it.
    suggestions: dict[int, str] = field(default_factory=dict)


#: Codes are letters, digits and - _ / . (a poster's reference, a receipt number, a payout id):
#: a line's text is cut into such runs, and each run is looked up, so a statement of 100,000
#: lines costs 100,000 look-ups, not one search per code and line.
_RUN = re.compile(r"[0-9A-Za-z][0-9A-Za-z_./-]*[0-9A-Za-z]")


def _referenced(lines: list[BankLine], entries: list[Entry]) -> dict[int, set[str]]:
    by_code: dict[str, str] = {}
    for entry in entries:
        for code in entry.codes:
            if code and len(code) >= MIN_CODE:
                by_code.setdefault(code.lower(), entry.key)
    tied: dict[int, set[str]] = defaultdict(set)
    if not by_code:
        return tied
    for line in lines:
        for run in _RUN.findall(line.text):
            key = by_code.get(run.lower())
            if key is not None:
                tied[line.id].add(key)
    return tied


def _groups(tied: dict[int, set[str]]) -> list[tuple[list[int], list[str]]]:
    """Connected groups of lines and the entries they name (union-find)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for line_id, keys in tied.items():
        for key in keys:
            parent[find(f"line:{line_id}")] = find(f"entry:{key}")
    members: dict[str, list[str]] = defaultdict(list)
    for node in list(parent):
        members[find(node)].append(node)
    groups = []
    for nodes in members.values():
        line_ids = sorted(int(n[5:]) for n in nodes if n.startswith("line:"))
        keys = sorted(n[6:] for n in nodes if n.startswith("entry:"))
        groups.append((line_ids, keys))
    return sorted(groups)


def match_bank(lines: list[BankLine], entries: list[Entry], window_days: int = WINDOW_DAYS) -> BankResult:
    result = BankResult()
    line_of = {line.id: line for line in lines}
    entry_of = {entry.key: entry for entry in entries}
    used_lines: set[int] = set()
    used_entries: set[str] = set()

    for line_ids, keys in _groups(_referenced(lines, entries)):
        group_lines = [line_of[i] for i in line_ids]
        group_entries = [entry_of[k] for k in keys]
        donation = next((e.donation for e in group_entries if e.donation), None)
        total = sum(line.amount_fen for line in group_lines)
        expected = sum(entry.amount_fen for entry in group_entries)
        used_lines.update(line_ids)
        used_entries.update(keys)
        if total == expected:
            result.matched += len(group_lines)
            result.links.extend((line.id, key) for line in group_lines for key in keys)
            continue
        repeats = _repeats(group_lines)
        if repeats and total - sum(line.amount_fen for line in repeats) == expected:
            kept = [line for line in group_lines if line not in repeats]
            result.matched += len(kept)
            result.links.extend((line.id, key) for line in kept for key in keys)
            for line in repeats:
                result.items.append(Item(Kind.DUPLICATE, line.reference, line.amount_fen, line.amount_fen, donation))
            continue
        last = group_lines[-1]
        result.items.append(Item(Kind.AMOUNT_MISMATCH, last.reference, total, total - expected, donation))

    window = timedelta(days=window_days)
    left_lines = [line for line in lines if line.id not in used_lines]
    left_entries = [entry for entry in entries if entry.key not in used_entries]
    by_amount: dict[int, list[Entry]] = defaultdict(list)
    for entry in left_entries:
        by_amount[entry.amount_fen].append(entry)
    candidates = {
        line.id: [e for e in by_amount.get(line.amount_fen, []) if abs(e.on - line.booked_on) <= window]
        for line in left_lines
    }
    wanted: dict[str, int] = defaultdict(int)
    for found in candidates.values():
        for entry in found:
            wanted[entry.key] += 1
    suggested_entries: set[str] = set()
    unplaced: list[BankLine] = []
    for line in left_lines:
        found = candidates[line.id]
        if len(found) == 1 and wanted[found[0].key] == 1:
            entry = found[0]
            result.suggestions[line.id] = entry.key
            suggested_entries.add(entry.key)
            result.items.append(Item(Kind.SUGGESTED, line.reference, line.amount_fen, 0, entry.donation))
        elif found:
            suggested_entries.update(e.key for e in found)
            result.items.append(Item(Kind.AMBIGUOUS, line.reference, line.amount_fen, 0, None))
        else:
            unplaced.append(line)

    # A payout split over two lines that carry no reference: a pair in the window adding up to it.
    for entry in left_entries:
        if entry.key in suggested_entries or not entry.key.startswith("payout:"):
            continue
        near = [line for line in unplaced if abs(line.booked_on - entry.on) <= window]
        pair = _pair_adding_to(near, entry.amount_fen)
        if pair:
            for line in pair:
                unplaced.remove(line)
                result.suggestions[line.id] = entry.key
                result.items.append(Item(Kind.SUGGESTED, line.reference, line.amount_fen, 0, entry.donation))
            suggested_entries.add(entry.key)

    for line in unplaced:
        result.items.append(Item(Kind.MISSING_HERE, line.reference, line.amount_fen, line.amount_fen, None))
    for entry in left_entries:
        if entry.key not in suggested_entries and entry.in_period:
            result.items.append(
                Item(Kind.MISSING_THERE, entry.key, entry.amount_fen, -entry.amount_fen, entry.donation)
            )
    return result


def _repeats(lines: list[BankLine]) -> list[BankLine]:
    """Lines repeating an earlier one of the group: same day, amount and text."""
    seen: set[tuple] = set()
    repeats = []
    for line in lines:
        key = (line.booked_on, line.amount_fen, line.text)
        if key in seen:
            repeats.append(line)
        seen.add(key)
    return repeats


def _pair_adding_to(lines: list[BankLine], amount: int) -> tuple[BankLine, BankLine] | None:
    by_amount: dict[int, list[BankLine]] = defaultdict(list)
    for line in lines:
        by_amount[line.amount_fen].append(line)
    for line in lines:
        for other in by_amount.get(amount - line.amount_fen, []):
            if other.id != line.id:
                return (line, other) if line.id < other.id else (other, line)
    return None
