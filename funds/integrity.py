"""The ledger's invariants, checked by `flask --app app ledger check` (exit 1 on any breach).

Every journal balances and stays within its fund; each fund's balance is what it raised
less what it spent and the processor's fees; each donation's recorded state matches its
journals; receipt numbers run 1, 2, 3… in each year with no gap and no repeat.
"""

from sqlalchemy import func, select

from core.extensions import db
from funds.ledger import figures
from funds.models import Account, Donation, DonationStatus, Entry, Journal, ReceiptCounter


def check() -> list[str]:
    """Every breach of the ledger's invariants, in words; an empty list means all hold."""
    breaches: list[str] = []
    unbalanced = db.session.execute(
        select(Journal.source_key, func.count(Entry.id), func.coalesce(func.sum(Entry.amount_fen), 0))
        .outerjoin(Entry, Entry.journal_id == Journal.id)
        .group_by(Journal.id, Journal.source_key)
        .having((func.coalesce(func.sum(Entry.amount_fen), 0) != 0) | (func.count(Entry.id) < 2))
    )
    for key, count, total in unbalanced:
        breaches.append(f"journal {key}: {count} entries summing to {total}")
    strays = db.session.execute(
        select(Journal.source_key, Entry.id)
        .join(Entry, Entry.journal_id == Journal.id)
        .where(Entry.fund_id != Journal.fund_id)
    )
    for key, entry_id in strays:
        breaches.append(f"journal {key}: entry {entry_id} is booked to another fund")
    for fund_id, f in figures().items():
        if f.balance_fen != f.raised_fen - f.spent_fen - f.fees_fen:
            breaches.append(
                f"fund {fund_id}: balance {f.balance_fen} ≠ raised {f.raised_fen} − spent {f.spent_fen}"
                f" − fees {f.fees_fen}"
            )
    breaches.extend(donation_breaches())
    breaches.extend(receipt_breaches())
    return breaches


def donation_breaches() -> list[str]:
    """Donations whose recorded state disagrees with their journals."""
    breaches = []
    succeeded = (
        DonationStatus.SUCCEEDED,
        DonationStatus.PARTIALLY_REFUNDED,
        DonationStatus.REFUNDED,
        DonationStatus.DISPUTED,
    )
    booked = dict(
        db.session.execute(
            select(Journal.donation_id, func.sum(-Entry.amount_fen))
            .join(Entry, Entry.journal_id == Journal.id)
            .join(Account, Entry.account_id == Account.id)
            .where(Account.code == "income:donations", Journal.donation_id.is_not(None))
            .group_by(Journal.donation_id)
        ).all()
    )
    returned = dict(
        db.session.execute(
            select(Journal.donation_id, func.sum(Entry.amount_fen))
            .join(Entry, Entry.journal_id == Journal.id)
            .join(Account, Entry.account_id == Account.id)
            .where(Account.code == "income:refunds", Journal.donation_id.is_not(None))
            .group_by(Journal.donation_id)
        ).all()
    )
    for donation in db.session.scalars(select(Donation)):
        expected = donation.amount_fen if donation.status in succeeded else 0
        if int(booked.get(donation.id) or 0) != expected:
            breaches.append(
                f"donation {donation.public_id}: {booked.get(donation.id) or 0} booked, {expected} expected"
            )
        if donation.status in succeeded and not donation.receipt_no:
            breaches.append(f"donation {donation.public_id}: succeeded without a receipt number")
        refunds = int(returned.get(donation.id) or 0)
        disputes_lost = donation.refunded_fen - refunds
        if disputes_lost < 0:
            breaches.append(
                f"donation {donation.public_id}: {refunds} refunded in the ledger, {donation.refunded_fen} recorded"
            )
    return breaches


def receipt_breaches() -> list[str]:
    """Receipt numbers run 1, 2, 3… in each year with no gap and no repeat."""
    breaches = []
    numbers: dict[int, list[int]] = {}
    for (receipt,) in db.session.execute(select(Donation.receipt_no).where(Donation.receipt_no.is_not(None))):
        year, number = receipt.split("-")
        numbers.setdefault(int(year), []).append(int(number))
    counters = dict(db.session.execute(select(ReceiptCounter.year, ReceiptCounter.last_no)).all())
    for year, issued in numbers.items():
        if sorted(issued) != list(range(1, len(issued) + 1)):
            breaches.append(f"receipts of {year}: numbers are not 1…{len(issued)} without gaps or repeats")
        if counters.get(year, 0) != len(issued):
            breaches.append(f"receipts of {year}: counter at {counters.get(year, 0)}, {len(issued)} issued")
    return breaches
