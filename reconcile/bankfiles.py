"""Reading bank statements: CSV (UTF-8 or GBK, with or without a BOM) or XLSX, in the layout
of a known bank's export or in any layout with the columns named by a person.

A statement is read whole before anything is written: one broken row refuses the file,
with the row's number and what is wrong with it.
"""

import csv
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.errors import ValidationError

#: The largest statement accepted, in bytes.
MAX_BYTES = 20 * 2**20
#: Rows looked through for the header line: exports start with the account's details.
HEADER_SEARCH_ROWS = 30

#: Fields a statement line has; `credit`/`debit` or a signed `amount`.
FIELDS = ("date", "amount", "credit", "debit", "counterparty", "reference", "serial", "balance")

FIELD_LABELS = {
    "date": _l("Date"),
    "amount": _l("Amount (signed: money in positive)"),
    "credit": _l("Money in"),
    "debit": _l("Money out"),
    "counterparty": _l("Counterparty"),
    "reference": _l("Reference / purpose"),
    "serial": _l("Serial number"),
    "balance": _l("Balance"),
}


@dataclass(frozen=True)
class Layout:
    key: str
    label: object
    #: field → the header names it goes by in this bank's export.
    columns: dict[str, tuple[str, ...]]


LAYOUTS = (
    Layout(
        "icbc",
        _l("ICBC (工商银行) corporate account details"),
        {
            "date": ("交易时间", "交易日期"),
            "debit": ("借方发生额",),
            "credit": ("贷方发生额",),
            "counterparty": ("对方单位名称", "对方户名"),
            "reference": ("用途", "摘要", "附言"),
            "serial": ("凭证号",),
            "balance": ("余额",),
        },
    ),
    Layout(
        "ccb",
        _l("CCB (建设银行) corporate account details"),
        {
            "date": ("交易时间", "记账日期"),
            "debit": ("借方发生额（支取）", "借方发生额(支取)"),
            "credit": ("贷方发生额（收入）", "贷方发生额(收入)"),
            "counterparty": ("对方户名",),
            "reference": ("摘要", "备注"),
            "serial": ("账户明细编号-交易流水号", "交易流水号"),
            "balance": ("余额",),
        },
    ),
)


@dataclass(frozen=True, slots=True)
class Line:
    """One statement line: money in is positive, money out negative."""

    row: int
    booked_on: date
    amount_fen: int
    counterparty: str
    reference: str
    serial: str
    balance_fen: int | None

    def fingerprint(self, occurrence: int) -> str:
        """The same line in the same or another export of the statement gives the same print: the
        bank's serial number when it has one, else every field and how many identical lines came before."""
        if self.serial:
            basis = f"serial|{self.serial}"
        else:
            basis = "|".join(
                map(
                    str,
                    (self.booked_on, self.amount_fen, self.counterparty, self.reference, self.balance_fen, occurrence),
                )
            )
        return hashlib.sha256(basis.encode()).hexdigest()[:40]


@dataclass
class Sheet:
    header: list[str]
    rows: list[list[str]]
    #: The file's row number of the first data row (1-based, as a spreadsheet numbers them).
    first_row: int


# --- files → rows ----------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 reads every GBK and GB2312 file.
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ValidationError(fields={"file": _("The file is neither UTF-8 nor GBK text.")}) from None


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value).strip()


def _rows_of(data: bytes) -> list[list[str]]:
    if len(data) > MAX_BYTES:
        raise ValidationError(fields={"file": _("A statement may be at most %(n)d MB.", n=MAX_BYTES // 2**20)})
    if not data.strip():
        raise ValidationError(fields={"file": _("The file is empty.")})
    if data[:4] == b"PK\x03\x04":
        return _xlsx_rows(data)
    if b"\x00" in data[:4096]:
        raise ValidationError(fields={"file": _("This is not a CSV or XLSX statement.")})
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    # strip() takes tabs too: some banks pad cells with them so that spreadsheets keep them as text.
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), dialect)]


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ValidationError(fields={"file": _("This is not a CSV or XLSX statement.")}) from None
    try:
        sheet = workbook.worksheets[0]
        return [[_cell(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def read_sheet(data: bytes) -> Sheet:
    """The header line (the first of the top rows naming a date column) and the rows under it."""
    rows = _rows_of(data)
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = {cell for cell in row if cell}
        if len(names) >= 3 and any("日期" in cell or "时间" in cell or cell.lower() == "date" for cell in names):
            return Sheet(header=row, rows=rows[index + 1 :], first_row=index + 2)
    raise ValidationError(fields={"file": _("No header line with a date column was found: this is not a statement.")})


def detect_layout(header: list[str]) -> Layout | None:
    """A known bank's layout whose date, money and reference columns are all in the header."""
    names = set(header)
    for layout in LAYOUTS:
        wanted = ("date", "credit", "debit", "reference")
        if all(any(name in names for name in layout.columns[field]) for field in wanted):
            return layout
    return None


def mapping_for(layout: Layout, header: list[str]) -> dict[str, int]:
    """Column index of each field the layout names and the header holds."""
    found = {}
    for field, names in layout.columns.items():
        for name in names:
            if name in header:
                found[field] = header.index(name)
                break
    return found


# --- rows → lines -------------------------------------------------------------------------------

_TOTALS = ("合计", "总计", "total")
_DATE = re.compile(r"^\s*(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?")


def _date(text: str, match: re.Match | None = None) -> date:
    match = match or _DATE.match(text)
    if not match:
        raise ValueError(_("the date %(value)s is not a date", value=text[:30]))
    year, month, day = (int(part) for part in match.groups())
    return date(year, month, day)


#: An amount as banks nearly always write it: read with int(), without Decimal.
_PLAIN_AMOUNT = re.compile(r"([-+]?)([0-9]+)(?:\.([0-9]{1,2}))?")


def _fen(text: str, *, unsigned: bool) -> int | None:
    if not text:
        return None
    clean = text.replace(",", "").replace("¥", "").replace("￥", "").replace("元", "").replace(" ", "")
    if clean in ("", "-", "--"):
        return None
    plain = _PLAIN_AMOUNT.fullmatch(clean)
    if plain:
        sign, whole, cents = plain.groups()
        fen = int(whole) * 100 + (int(cents.ljust(2, "0")) if cents else 0)
        if sign == "-":
            fen = -fen
        if unsigned and fen < 0:
            raise ValueError(_("the amount %(value)s is negative", value=text[:30]))
        if abs(fen) >= 10**12:
            raise ValueError(_("the amount %(value)s is too large", value=text[:30]))
        return fen
    try:
        amount = Decimal(clean)
    except InvalidOperation:
        raise ValueError(_("the amount %(value)s is not a number", value=text[:30])) from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(_("the amount %(value)s is not in yuan and fen", value=text[:30]))
    if unsigned and amount < 0:
        raise ValueError(_("the amount %(value)s is negative", value=text[:30]))
    if abs(amount) >= 10**10:
        raise ValueError(_("the amount %(value)s is too large", value=text[:30]))
    return int(amount * 100)


def read_lines(sheet: Sheet, mapping: dict[str, int]) -> list[Line]:
    """Every money line of the sheet; ValidationError naming the first broken row."""
    if "date" not in mapping or not ("amount" in mapping or ("credit" in mapping and "debit" in mapping)):
        raise ValidationError(fields={"mapping": _("Say which columns hold the date and the money.")})
    width = len(sheet.header)
    if any(index < 0 or index >= width for index in mapping.values()):
        raise ValidationError(fields={"mapping": _("A chosen column is not in the file.")})
    lines = []
    # Each field's column, or None: looked up once, not once a row.
    columns = {field: mapping.get(field) for field in FIELDS}
    signed = columns["amount"] is not None
    money_columns = [columns[f] for f in ("amount", "credit", "debit") if columns[f] is not None]
    # A statement's lines fall on a few dozen days: each day's text is read into a date once.
    days: dict[str, date] = {}
    for offset, row in enumerate(sheet.rows):
        number = sheet.first_row + offset
        if not any(row):
            continue
        size = len(row)
        cells = {field: (row[i].strip() if i is not None and i < size else "") for field, i in columns.items()}
        first = cells["date"]
        dated = _DATE.match(first)
        if not dated:
            # Exports end with totals (合计) or notes under the lines: those are not money lines.
            has_money = any(row[i].strip() for i in money_columns if i < size)
            if not has_money or any(word in cell.lower() for cell in row for word in _TOTALS):
                continue
        try:
            booked_on = days.get(dated.group()) if dated else None
            if booked_on is None:
                booked_on = _date(first, dated)
                days[dated.group()] = booked_on
            if signed:
                amount = _fen(cells["amount"], unsigned=False)
            else:
                credit, debit = _fen(cells["credit"], unsigned=True), _fen(cells["debit"], unsigned=True)
                if credit and debit:
                    raise ValueError(_("money both in and out on one line"))
                amount = credit if credit else (-debit if debit else None)
            if not amount:
                raise ValueError(_("no amount"))
            balance = _fen(cells["balance"], unsigned=False) if columns["balance"] is not None else None
        except ValueError as exc:
            raise ValidationError(
                fields={"file": _("Row %(row)d: %(problem)s. Nothing was imported.", row=number, problem=str(exc))}
            ) from None
        lines.append(
            Line(
                row=number,
                booked_on=booked_on,
                amount_fen=amount,
                counterparty=cells["counterparty"][:120],
                reference=cells["reference"][:255],
                serial=cells["serial"][:80],
                balance_fen=balance,
            )
        )
    if not lines:
        raise ValidationError(fields={"file": _("The statement holds no lines.")})
    return lines


def fingerprints(lines: list[Line]) -> list[str]:
    seen: dict[tuple, int] = {}
    prints = []
    for line in lines:
        key = (line.booked_on, line.amount_fen, line.counterparty, line.reference, line.balance_fen, line.serial)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        prints.append(line.fingerprint(occurrence))
    return prints
