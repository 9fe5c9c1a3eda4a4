"""A fund's statement, derived from its ledger entries alone, as CSV or XLSX."""

import csv
import io
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from core.extensions import db
from core.money import fen_to_yuan_str
from funds.models import AccountKind, Donation, Entry, Fund, Journal


@dataclass(frozen=True)
class StatementLine:
    posted_on: date
    source_key: str
    memo: str
    receipt_no: str
    account: str
    debit_fen: int
    credit_fen: int
    #: The fund's money (its asset accounts) after this line.
    balance_fen: int


def lines(fund: Fund) -> list[StatementLine]:
    rows = db.session.execute(
        select(Entry, Journal, Donation.receipt_no)
        .join(Journal, Entry.journal_id == Journal.id)
        .outerjoin(Donation, Journal.donation_id == Donation.id)
        .where(Entry.fund_id == fund.id)
        .order_by(Journal.posted_at, Journal.id, Entry.id)
    ).all()
    balance = 0
    out = []
    for entry, journal, receipt in rows:
        if entry.account.kind == AccountKind.ASSET:
            balance += entry.amount_fen
        out.append(
            StatementLine(
                posted_on=journal.posted_on,
                source_key=journal.source_key,
                memo=journal.memo,
                receipt_no=receipt or "",
                account=entry.account.code,
                debit_fen=max(entry.amount_fen, 0),
                credit_fen=max(-entry.amount_fen, 0),
                balance_fen=balance,
            )
        )
    return out


def _header() -> list[str]:
    return [_("Date"), _("Source"), _("Memo"), _("Receipt"), _("Account"), _("Debit"), _("Credit"), _("Balance")]


def _cells(line: StatementLine, as_text: bool) -> list:
    money = fen_to_yuan_str if as_text else (lambda fen: fen / 100)
    return [
        line.posted_on.isoformat() if as_text else line.posted_on,
        line.source_key,
        line.memo,
        line.receipt_no,
        line.account,
        money(line.debit_fen) if line.debit_fen else "",
        money(line.credit_fen) if line.credit_fen else "",
        money(line.balance_fen),
    ]


def _guard(value):
    """A cell a spreadsheet would run as a formula is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not _is_number(value):
        return "'" + value
    return value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def as_csv(fund: Fund) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_header())
    for line in lines(fund):
        writer.writerow([_guard(v) for v in _cells(line, as_text=True)])
    return out.getvalue().encode("utf-8-sig")


def as_xlsx(fund: Fund) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=fund.slug[:31])
    sheet.append(_header())
    for line in lines(fund):
        sheet.append([_guard(v) for v in _cells(line, as_text=False)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
