"""A fund's statement for a period, as a finance person reads it, derived from the ledger alone.

Title (fund and period), opening balance, one row per movement (date, receipt number, the
donor's public name or 爱心人士, what it was, money in, money out, fee, running balance),
totals and the closing balance, which is what `flask --app app ledger check` derives.
Money moved between the fund's own accounts (a Stripe payout reaching the bank) is not a
movement of the fund and has no row. No internal key, account code or English memo appears.
Exported as CSV or XLSX; a cell a spreadsheet would run as a formula is written as text.
"""

import io
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select

from core import dates, spreadsheets
from core.clock import local_today
from core.extensions import db
from core.money import fen_to_yuan_str
from funds import ledger
from funds.models import (
    CHANNEL_LABELS,
    DISBURSEMENT_KIND_LABELS,
    Account,
    AccountKind,
    Disbursement,
    Donation,
    Entry,
    Fund,
    Journal,
)
from funds.queries import wall_name


@dataclass(frozen=True)
class Movement:
    posted_on: date
    receipt_no: str
    who: str
    what: str
    in_fen: int
    out_fen: int
    fee_fen: int
    #: The fund's money after this movement.
    balance_fen: int


@dataclass(frozen=True)
class Statement:
    fund: Fund
    since: date | None
    until: date | None
    opening_fen: int
    movements: list[Movement]

    @property
    def in_fen(self) -> int:
        return sum(m.in_fen for m in self.movements)

    @property
    def out_fen(self) -> int:
        return sum(m.out_fen for m in self.movements)

    @property
    def fee_fen(self) -> int:
        return sum(m.fee_fen for m in self.movements)

    @property
    def closing_fen(self) -> int:
        return self.opening_fen + self.in_fen - self.out_fen - self.fee_fen

    def title(self) -> str:
        start = dates.day(self.since) if self.since else _("the start")
        end = dates.day(self.until) if self.until else _("today")
        return _("%(fund)s: statement from %(start)s to %(end)s", fund=self.fund.name, start=start, end=end)


def _asset_total(fund: Fund, before: date | None) -> int:
    if before is None:
        return 0
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Entry.amount_fen), 0))
            .join(Journal, Entry.journal_id == Journal.id)
            .join(Account, Entry.account_id == Account.id)
            .where(Entry.fund_id == fund.id, Account.kind == AccountKind.ASSET, Journal.posted_on < before)
        )
    )


def _what(codes: dict[str, int], donation: Donation | None, disbursement: Disbursement | None) -> str:
    if disbursement is not None:
        return _("%(label)s: %(text)s", label=DISBURSEMENT_KIND_LABELS[disbursement.kind], text=disbursement.payee)
    channel = str(CHANNEL_LABELS.get(donation.channel, "")) if donation is not None else ""
    if codes.get("expense:fees") and len([c for c in codes if not c.startswith("asset:")]) == 1:
        return _("Processor fee")
    if codes.get("income:refunds"):
        return _("Refund") + (f" ({channel})" if channel else "")
    if codes.get("income:disputes"):
        return _("Disputed payment") if codes["income:disputes"] > 0 else _("Dispute won")
    if codes.get("income:donations"):
        return _("Donation") + (f" ({channel})" if channel else "")
    return _("Correction")


def build(fund: Fund, since: date | None = None, until: date | None = None) -> Statement:
    """The statement of [since, until], local days, both included; open ends for None."""
    query = (
        select(Journal, Account.code, Entry.amount_fen)
        .join(Entry, Entry.journal_id == Journal.id)
        .join(Account, Entry.account_id == Account.id)
        .where(Entry.fund_id == fund.id)
        .order_by(Journal.posted_on, Journal.posted_at, Journal.id, Entry.id)
    )
    if since:
        query = query.where(Journal.posted_on >= since)
    if until:
        query = query.where(Journal.posted_on <= until)
    journals: dict[int, tuple[Journal, dict[str, int]]] = {}
    for journal, code, amount in db.session.execute(query):
        codes = journals.setdefault(journal.id, (journal, {}))[1]
        codes[code] = codes.get(code, 0) + amount
    donation_ids = {j.donation_id for j, _c in journals.values() if j.donation_id}
    donations = (
        {d.id: d for d in db.session.scalars(select(Donation).where(Donation.id.in_(donation_ids)))}
        if donation_ids
        else {}
    )
    disbursement_ids = {
        int(j.source_key.split(":")[1])
        for j, _c in journals.values()
        if j.source_key.startswith("disbursement:") and j.source_key.split(":")[1].isdigit()
    }
    disbursements = (
        {d.id: d for d in db.session.scalars(select(Disbursement).where(Disbursement.id.in_(disbursement_ids)))}
        if disbursement_ids
        else {}
    )
    opening = _asset_total(fund, since)
    balance = opening
    movements = []
    for journal, codes in journals.values():
        delta = sum(amount for code, amount in codes.items() if code.startswith("asset:"))
        fee = codes.get("expense:fees", 0)
        if delta == 0 and fee == 0:
            # Money moving between the fund's own accounts.
            continue
        other = delta + fee
        balance += delta
        donation = donations.get(journal.donation_id) if journal.donation_id else None
        disbursement = None
        if journal.source_key.startswith("disbursement:"):
            key = journal.source_key.split(":")[1]
            disbursement = disbursements.get(int(key)) if key.isdigit() else None
        movements.append(
            Movement(
                posted_on=journal.posted_on,
                receipt_no=(donation.receipt_no or "") if donation else "",
                who=wall_name(donation) if donation else (disbursement.payee if disbursement else ""),
                what=_("Correction")
                if journal.source_key.startswith(ledger.CORRECTION)
                else _what(codes, donation, disbursement),
                in_fen=max(other, 0),
                out_fen=max(-other, 0),
                fee_fen=fee,
                balance_fen=balance,
            )
        )
    return Statement(fund, since, until, opening, movements)


def _header() -> list[str]:
    return [
        _("Date"),
        _("Receipt number"),
        _("Donor or payee"),
        _("Movement"),
        _("Money in (yuan)"),
        _("Money out (yuan)"),
        _("Fee (yuan)"),
        _("Balance (yuan)"),
    ]


def _rows(statement: Statement, as_text: bool) -> list[list]:
    def money(fen: int):
        return fen_to_yuan_str(fen) if as_text else fen / 100

    def day(value: date):
        return dates.compact_day(value) if as_text else value

    rows: list[list] = [
        [statement.title()],
        [_("Opening balance"), "", "", "", "", "", "", money(statement.opening_fen)],
        _header(),
    ]
    for m in statement.movements:
        rows.append(
            [
                day(m.posted_on),
                m.receipt_no,
                m.who,
                m.what,
                money(m.in_fen) if m.in_fen else "",
                money(m.out_fen) if m.out_fen else "",
                money(m.fee_fen) if m.fee_fen else "",
                money(m.balance_fen),
            ]
        )
    rows.append(
        [
            _("Totals"),
            "",
            "",
            "",
            money(statement.in_fen),
            money(statement.out_fen),
            money(statement.fee_fen),
            "",
        ]
    )
    rows.append([_("Closing balance"), "", "", "", "", "", "", money(statement.closing_fen)])
    return rows


def as_csv(statement: Statement) -> bytes:
    return spreadsheets.as_csv(_rows(statement, as_text=True))


#: Width of each column in characters, for a statement read on screen or printed.
WIDTHS = (12, 14, 22, 26, 14, 14, 12, 14)


def as_xlsx(statement: Statement) -> bytes:
    # The sheet is named after the fund as people name it, not its slug.
    layout = spreadsheets.Layout(statement.fund.name, WIDTHS, header_row=3, money_columns=(4, 5, 6, 7))
    return spreadsheets.as_xlsx(_rows(statement, as_text=False), layout)


def as_pdf(statement: Statement, signed_by: str) -> bytes:
    """An A4 statement with the table's header on every page, signed off with the administrator's name."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    title_style = ParagraphStyle("title", fontName=font, fontSize=14, leading=18)
    text_style = ParagraphStyle("text", fontName=font, fontSize=9, leading=12)
    rows = _rows(statement, as_text=True)
    table = Table(rows[2:], repeatRows=1, colWidths=[w * 2.1 * mm for w in WIDTHS])
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 8),
                ("ALIGN", (4, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                ("LINEABOVE", (0, -2), (-1, -2), 0.6, colors.black),
                ("ROWBACKGROUNDS", (0, 1), (-1, -3), [colors.white, colors.HexColor("#f3f3f3")]),
            ]
        )
    )
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=statement.title(),
    )
    opening = _("%(label)s: %(text)s", label=rows[1][0], text=rows[1][7])
    signed = _("Prepared and checked by %(name)s on %(date)s", name=signed_by, date=dates.day(local_today()))
    document.build(
        [
            Paragraph(statement.title(), title_style),
            Spacer(1, 4 * mm),
            Paragraph(opening, text_style),
            Spacer(1, 3 * mm),
            table,
            Spacer(1, 10 * mm),
            Paragraph(signed, text_style),
            Paragraph(_("Signature") + ": ______________________", text_style),
        ]
    )
    return out.getvalue()
