"""The double-entry ledger: post balanced journals once per source, derive every figure from entries.

Signs: a debit is positive, a credit negative; every journal sums to zero and belongs to
one fund, so for each fund the assets equal what was raised less what was spent.
"""

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, event, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import writebehind
from core.audit import Actor
from core.clock import local_today, utcnow
from core.database import insert_for
from core.extensions import db
from core.models import User
from core.money import is_whole
from funds.models import Account, AccountKind, Donation, Entry, Fund, Journal

#: The chart of accounts. Every account is shared by all funds; each entry names its fund.
ACCOUNTS = {
    "asset:stripe": ("Stripe balance", AccountKind.ASSET),
    "asset:cash": ("Cash", AccountKind.ASSET),
    "asset:bank": ("Bank account", AccountKind.ASSET),
    "income:donations": ("Donations", AccountKind.INCOME),
    "income:refunds": ("Refunds to donors", AccountKind.INCOME),
    "income:disputes": ("Disputed payments", AccountKind.INCOME),
    "expense:disbursements": ("Disbursements", AccountKind.EXPENSE),
    "expense:fees": ("Processor fees", AccountKind.EXPENSE),
}

#: The accounts as a fund administrator reads them.
ACCOUNT_LABELS = {
    "asset:stripe": _l("Stripe balance"),
    "asset:bank": _l("Bank account"),
    "asset:cash": _l("Cash"),
    "income:donations": _l("Donation income"),
    "income:refunds": _l("Refunds to donors"),
    "income:disputes": _l("Disputed payments"),
    "expense:fees": _l("Processor fees"),
    "expense:disbursements": _l("Disbursements"),
}


def account_label(code: str) -> str:
    return str(ACCOUNT_LABELS.get(code, code))


#: The expense account of the payment processor's fees: reported apart from what was spent.
FEES = "expense:fees"
#: Source keys of correcting journals (funds.services.post_correcting_journal) start with this.
CORRECTION = "correction:"


class LedgerError(Exception):
    """A journal that could never be right: unbalanced, empty, or naming an unknown account."""


_KNOWN_ACCOUNTS = "ledger_account_ids"


def _account_id(code: str) -> int:
    """The account's id, created on first use; remembered until the transaction ends or any
    part of it is rolled back."""
    if code not in ACCOUNTS:
        raise LedgerError(f"unknown account {code}")
    known = db.session.info.setdefault(_KNOWN_ACCOUNTS, {})
    if code in known:
        return known[code]
    found = db.session.scalar(select(Account.id).where(Account.code == code))
    if found is None:
        name, kind = ACCOUNTS[code]
        db.session.execute(
            insert_for(db.session)(Account)
            .values(code=code, name=name, kind=kind.value)
            .on_conflict_do_nothing(index_elements=["code"])
        )
        found = db.session.scalar(select(Account.id).where(Account.code == code))
    known[code] = found
    return found


def _forget_accounts(session, *_transaction):
    session.info.pop(_KNOWN_ACCOUNTS, None)


def _forget_accounts_after_transaction(session, transaction):
    # Releasing a savepoint also ends a transaction: the accounts stay known until the outermost ends.
    if transaction.parent is None:
        _forget_accounts(session)


# A rollback, even to a savepoint, may have taken back an account made since; once the
# transaction ends the next one looks again.
event.listen(Session, "after_soft_rollback", _forget_accounts)
event.listen(Session, "after_transaction_end", _forget_accounts_after_transaction)


def post(
    source_key: str,
    fund_id: int,
    lines: list[tuple[str, int]],
    memo: str,
    actor: Actor,
    *,
    donation_id: int | None = None,
    reverses_id: int | None = None,
    posted_on: date | None = None,
) -> tuple[Journal, bool]:
    """Post a balanced journal once per source key; returns (journal, whether it is new).

    Inside a write-behind batch (core.writebehind) the journal is held and sent with the
    batch, inserted only if its source key is new: then it returns (None, None).
    """
    if len(lines) < 2 or any(not is_whole(a) or a == 0 for _c, a in lines):
        raise LedgerError("a journal needs at least two non-zero whole-fen lines")
    if sum(amount for _code, amount in lines) != 0:
        raise LedgerError(f"journal {source_key} does not balance")
    batch = writebehind.active()
    if batch is not None:
        row = {
            "source_key": source_key,
            "fund_id": fund_id,
            "donation_id": donation_id,
            "reverses_id": reverses_id,
            "memo": memo[:200],
            "actor_label": f"user:{actor.id}" if isinstance(actor, User) else actor,
            "posted_on": posted_on or local_today(),
            "posted_at": utcnow(),
        }
        batch.part("journals", _HeldJournals).add(row, [(_account_id(code), amount) for code, amount in lines])
        return None, None
    existing = db.session.scalar(select(Journal).where(Journal.source_key == source_key))
    if existing is not None:
        return existing, False
    account_ids = [(_account_id(code), amount) for code, amount in lines]
    journal = Journal(
        source_key=source_key,
        fund_id=fund_id,
        donation_id=donation_id,
        reverses_id=reverses_id,
        memo=memo[:200],
        actor_label=f"user:{actor.id}" if isinstance(actor, User) else actor,
        #: Money counted on the day it arrived (cash handed over, a transfer received), not the day it was typed in.
        posted_on=posted_on or local_today(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(journal)
            db.session.flush()
            db.session.add_all(
                Entry(journal_id=journal.id, account_id=account_id, fund_id=fund_id, amount_fen=amount)
                for account_id, amount in account_ids
            )
            db.session.flush()
    except IntegrityError:
        # Someone posted the same source at the same moment; theirs stands.
        existing = db.session.scalar(select(Journal).where(Journal.source_key == source_key))
        if existing is None:
            raise
        return existing, False
    return journal, True


class _HeldJournals:
    """Journals of a write-behind batch (core.writebehind): performance plumbing.

    Sent as one INSERT of the journals (an executemany, which SQLAlchemy sends as multi-row
    INSERTs), skipping any whose source key is already posted (the unique source key decides,
    as it does for `post`), and one of their entries.
    """

    def __init__(self):
        self.journals: dict[str, tuple[dict, list[tuple[int, int]]]] = {}

    def add(self, row: dict, lines: list[tuple[int, int]]) -> None:
        # The first post of a source key stands, as it would have one by one.
        self.journals.setdefault(row["source_key"], (row, lines))

    def send(self, session: Session) -> None:
        if not self.journals:
            return
        held, self.journals = self.journals, {}
        table = Journal.__table__
        posted = session.connection().execute(
            insert_for(session)(table)
            .on_conflict_do_nothing(index_elements=["source_key"])
            .returning(table.c.id, table.c.source_key),
            [row for row, _lines in held.values()],
        )
        entries = [
            {
                "journal_id": journal_id,
                "account_id": account_id,
                "fund_id": held[key][0]["fund_id"],
                "amount_fen": amount,
            }
            for journal_id, key in posted
            for account_id, amount in held[key][1]
        ]
        if entries:
            session.connection().execute(Entry.__table__.insert(), entries)


def post_many(journals: list[tuple[str, int, list[tuple[str, int]], str, int | None]], actor: Actor) -> None:
    """Post many balanced journals at once, each once per source key: (source key, fund id, lines,
    memo, donation id) each. Two statements however many journals (see _HeldJournals); a source
    key already posted is skipped, as `post` would."""
    held = _HeldJournals()
    accounts: dict[str, int] = {}
    label = f"user:{actor.id}" if isinstance(actor, User) else actor
    today, now = local_today(), utcnow()
    for source_key, fund_id, lines, memo, donation_id in journals:
        # Checked line by line rather than with any() and sum(): this runs for every fee of a month.
        total = 0
        for _code, amount in lines:
            if not is_whole(amount) or amount == 0:
                raise LedgerError(f"journal {source_key} does not balance")
            total += amount
        if total != 0 or len(lines) < 2:
            raise LedgerError(f"journal {source_key} does not balance")
        entries = []
        for code, amount in lines:
            account_id = accounts.get(code)
            if account_id is None:
                account_id = accounts[code] = _account_id(code)
            entries.append((account_id, amount))
        row = {
            "source_key": source_key,
            "fund_id": fund_id,
            "donation_id": donation_id,
            "reverses_id": None,
            "memo": memo[:200],
            "actor_label": label,
            "posted_on": today,
            "posted_at": now,
        }
        held.add(row, entries)
    held.send(db.session)


def reverse(journal: Journal, source_key: str, memo: str, actor: Actor) -> tuple[Journal, bool]:
    """A correction is a new journal with every line negated; the original stays as it was."""
    lines = [(entry.account.code, -entry.amount_fen) for entry in journal.entries]
    return post(
        source_key, journal.fund_id, lines, memo, actor, donation_id=journal.donation_id, reverses_id=journal.id
    )


@dataclass(frozen=True)
class FundFigures:
    """Balance = raised (money in less refunds and disputes) − spent (disbursements) − fees."""

    balance_fen: int
    raised_fen: int
    spent_fen: int
    fees_fen: int = 0


def figures(*, without_simulated: bool = False) -> dict[int, FundFigures]:
    """Balance, raised, spent and processor fees of every fund, from the entries alone.

    `without_simulated` leaves out the journals of donations paid in the offline payment
    simulator, as every figure shown to the public does except on a demo site.
    """
    kind = Account.kind
    fee = Account.code == FEES
    statement = (
        select(
            Entry.fund_id,
            func.coalesce(func.sum(case((kind == AccountKind.ASSET, Entry.amount_fen), else_=0)), 0),
            func.coalesce(func.sum(case((kind == AccountKind.INCOME, -Entry.amount_fen), else_=0)), 0),
            func.coalesce(func.sum(case(((kind == AccountKind.EXPENSE) & ~fee, Entry.amount_fen), else_=0)), 0),
            func.coalesce(func.sum(case((fee, Entry.amount_fen), else_=0)), 0),
        )
        .join(Account, Entry.account_id == Account.id)
        .group_by(Entry.fund_id)
    )
    if without_simulated:
        statement = (
            statement.join(Journal, Entry.journal_id == Journal.id)
            .outerjoin(Donation, Journal.donation_id == Donation.id)
            .where(or_(Donation.id.is_(None), Donation.simulated.is_(False)))
        )
    rows = db.session.execute(statement)
    result = {fund_id: FundFigures(int(b), int(r), int(s), int(f)) for fund_id, b, r, s, f in rows}
    for (fund_id,) in db.session.execute(select(Fund.id)):
        result.setdefault(fund_id, FundFigures(0, 0, 0))
    return result


def balance_of(fund_id: int) -> int:
    """What one fund holds now: the sum of its asset entries."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Entry.amount_fen), 0))
            .join(Account, Entry.account_id == Account.id)
            .where(Entry.fund_id == fund_id, Account.kind == AccountKind.ASSET)
        )
    )
