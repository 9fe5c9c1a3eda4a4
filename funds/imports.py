"""Reading a bureau's project sheet (CSV or XLSX) into row dicts for services.import_projects."""

import csv
import io
import zipfile

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from core.errors import ValidationError
from funds.services import IMPORT_COLUMN_LABELS, MAX_IMPORT_ROWS

COLUMNS = tuple(IMPORT_COLUMN_LABELS)
REQUIRED = ("slug", "title", "fund", "goal_yuan")
#: A sheet of a few hundred projects is far below this.
MAX_BYTES = 2 * 2**20
MAX_UNPACKED_BYTES = 40 * 2**20

EXAMPLE_ROW = ("reading-corner-2026", "乡村儿童阅读角", "xixin-hutong", "20000", "300", "梁溪区", "为十个社区建阅读角")


def column_names() -> list[str]:
    """The columns as the reader names them."""
    return [str(IMPORT_COLUMN_LABELS[name]) for name in COLUMNS]


def _columns_by_heading() -> dict[str, str]:
    # A sheet made from the Chinese template, the English one or by hand with the codes.
    headings = {name: name for name in COLUMNS}
    for locale in current_app.config["LANGUAGES"]:
        with force_locale(locale):
            headings.update({str(label).lower(): name for name, label in IMPORT_COLUMN_LABELS.items()})
    return headings


def template_csv() -> bytes:
    """The header and one example row, with a BOM so spreadsheet programs read the Chinese right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(column_names())
    writer.writerow(EXAMPLE_ROW)
    return out.getvalue().encode("utf-8-sig")


def read_rows(filename: str, stream) -> list[dict]:
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValidationError(fields={"sheet": _("The file may be at most %(n)d MB.", n=MAX_BYTES // 2**20)})
    if not data:
        raise ValidationError(fields={"sheet": _("The file is empty.")})
    name = (filename or "").lower()
    if data.startswith(b"PK") and name.endswith(".xlsx"):
        table = _xlsx_table(data)
    elif name.endswith(".csv") and not data.startswith(b"PK"):
        table = _csv_table(data)
    else:
        raise ValidationError(fields={"sheet": _("Upload the sheet as a .csv or .xlsx file.")})
    return _rows(table)


def _csv_table(data: bytes) -> list[list]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(fields={"sheet": _("Save the CSV file as UTF-8.")}) from None
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        raise ValidationError(fields={"sheet": _("This CSV file cannot be read.")}) from None


def _xlsx_table(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    try:
        # A few compressed megabytes can unpack to gigabytes: look at the sizes before openpyxl reads anything.
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise ValidationError(fields={"sheet": _("This XLSX file cannot be read.")}) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise ValidationError(fields={"sheet": _("The file may be at most %(n)d MB.", n=MAX_BYTES // 2**20)})
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ValidationError(fields={"sheet": _("This XLSX file cannot be read.")}) from None
    try:
        table = []
        for row in book.worksheets[0].iter_rows(values_only=True):
            table.append(list(row))
            if len(table) > MAX_IMPORT_ROWS + 1:
                break
        return table
    finally:
        book.close()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _rows(table: list[list]) -> list[dict]:
    # Trailing blank rows only: a blank row in the middle keeps its number for the error report.
    while table and not any(_cell(v) for v in table[-1]):
        table.pop()
    if not table:
        raise ValidationError(fields={"sheet": _("The file is empty.")})
    headings = _columns_by_heading()
    header = [headings.get(_cell(v).lower(), "") for v in table[0]]
    missing = [str(IMPORT_COLUMN_LABELS[name]) for name in REQUIRED if name not in header]
    if missing:
        raise ValidationError(
            fields={"sheet": _("The first row must name the columns; missing: %(names)s.", names=_(", ").join(missing))}
        )
    body = table[1:]
    if len(body) > MAX_IMPORT_ROWS:
        raise ValidationError(fields={"sheet": _("At most %(n)d projects can be imported at once.", n=MAX_IMPORT_ROWS)})
    rows = []
    for values in body:
        row = {name: _cell(values[i]) if i < len(values) else "" for i, name in enumerate(header) if name in COLUMNS}
        rows.append(row)
    return rows
