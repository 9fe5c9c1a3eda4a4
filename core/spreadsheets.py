"""Tables a person downloads: CSV that Excel opens as UTF-8, XLSX with widths, number formats and a frozen header.

A cell that starts with = + - @ tab or CR would run as a formula when the file is opened;
every text cell is written as text instead (a leading apostrophe). One writer for every
export, so that no export forgets it.
"""

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

#: A plain amount such as -12.50: read as a number, never as a formula.
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def guard(value):
    """A cell a spreadsheet would run as a formula is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def as_csv(rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with a byte-order mark, which Excel needs to read Chinese."""
    out = io.StringIO()
    csv.writer(out).writerows([[guard(cell) for cell in row] for row in rows])
    return out.getvalue().encode("utf-8-sig")


@dataclass(frozen=True)
class Layout:
    """How an XLSX sheet looks: column widths in characters, the header's row (1-based, frozen with
    the rows above it), the 0-based columns that hold money in yuan and dates, and a bold title in A1."""

    sheet: str
    widths: Sequence[int]
    header_row: int
    money_columns: Sequence[int] = ()
    date_columns: Sequence[int] = field(default_factory=lambda: (0,))
    title: bool = True


def as_xlsx(rows: Iterable[Sequence], layout: Layout) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    # A sheet's name holds at most 31 characters and none of [ ] : * ? / \
    sheet.title = re.sub(r"[\[\]:*?/\\]", " ", layout.sheet)[:31].strip() or "1"
    for row in rows:
        sheet.append([guard(cell) for cell in row])
    if layout.title:
        sheet["A1"].font = Font(bold=True, size=13)
    for cell in sheet[layout.header_row]:
        cell.font = Font(bold=True)
    for index, width in enumerate(layout.widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for row in sheet.iter_rows(min_row=layout.header_row + 1):
        for index in layout.date_columns:
            if index < len(row) and isinstance(row[index].value, date):
                row[index].number_format = "yyyy-mm-dd"
        for index in layout.money_columns:
            if index < len(row):
                row[index].number_format = "#,##0.00"
    # The header stays in sight while scrolling.
    sheet.freeze_panes = f"A{layout.header_row + 1}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
