"""Sheets in and out: the attendee import (CSV or XLSX) and the event's results (XLSX) for follow-up."""

import csv
import io

from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from core import dates
from core.errors import ValidationError
from core.extensions import db
from core.spreadsheets import guard
from events.models import Attendee, Event, EventBackup, EventClaim
from events.services import AttendeeInput, featured_wishes
from wishes.models import WISH_STATUS_LABELS

#: Column headings accepted in an attendee sheet, in either language.
HEADINGS = {
    "paddle": ("paddle", "号牌", "号牌号", "牌号"),
    "name": ("name", "姓名", "名称"),
    "organisation": ("organisation", "organization", "单位", "机构"),
    "phone": ("phone", "电话", "手机", "手机号"),
}
MAX_ROWS = 2000


def _rows_from(filename: str, data: bytes) -> list[list]:
    name = filename.lower()
    if name.endswith(".xlsx"):
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds for a damaged file
            raise ValidationError(fields={"file": _("This is not a readable XLSX file.")}) from None
        sheet = book.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 1)]
    if name.endswith(".csv"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                raise ValidationError(fields={"file": _("Save the CSV file as UTF-8.")}) from None
        return list(csv.reader(io.StringIO(text)))[: MAX_ROWS + 1]
    raise ValidationError(fields={"file": _("Choose a CSV or XLSX file.")})


def read_attendee_sheet(filename: str, data: bytes) -> list[AttendeeInput]:
    rows = [r for r in _rows_from(filename, data) if any(c not in (None, "") for c in r)]
    if not rows:
        raise ValidationError(fields={"file": _("The sheet has no attendees.")})
    header = [str(c or "").strip().lower() for c in rows[0]]
    columns = {}
    for key, names in HEADINGS.items():
        found = next((i for i, h in enumerate(header) if h in names), None)
        if found is not None:
            columns[key] = found
    missing = [k for k in ("paddle", "name", "phone") if k not in columns]
    if missing:
        raise ValidationError(
            fields={"file": _("The first row must name the columns: paddle, name, organisation, phone.")}
        )

    def cell(row, key):
        index = columns.get(key)
        value = row[index] if index is not None and index < len(row) else None
        return value.strip() if isinstance(value, str) else value

    return [
        AttendeeInput(
            paddle=cell(row, "paddle"),
            name=str(cell(row, "name") or ""),
            organisation=str(cell(row, "organisation") or "") or None,
            phone=str(cell(row, "phone") or ""),
        )
        for row in rows[1:]
    ]


def results_xlsx(event: Event) -> bytes:
    """Wishes, claimers (with contacts, for the host's follow-up), backups and money: never a child's private field."""
    book = Workbook()
    sheet = book.active
    sheet.title = _("Wishes")
    sheet.append(
        [
            _("Wish"),
            _("Child"),
            _("Age"),
            _("District"),
            _("Amount (yuan)"),
            _("Status"),
            _("Paddle"),
            _("Claimed by"),
            _("Organisation"),
            _("Phone"),
            _("Claimed at"),
            _("Backups"),
        ]
    )
    records = {
        r.claim.wish_id: r
        for r in db.session.scalars(
            select(EventClaim).where(EventClaim.event_id == event.id, EventClaim.undone_at.is_(None))
        )
        if r.claim.status in ("active", "fulfilled")
    }
    backups: dict[int, list[str]] = {}
    for b in db.session.scalars(
        select(EventBackup).where(EventBackup.event_id == event.id).order_by(EventBackup.position)
    ):
        backups.setdefault(b.wish_id, []).append(f"{b.attendee.paddle} {b.attendee.name} {b.attendee.phone}")
    for wish in featured_wishes(event):
        record = records.get(wish.id)
        claim = record.claim if record else wish.active_claim or wish.fulfilled_claim
        attendee: Attendee | None = record.attendee if record else None
        child = wish.child.public_view()
        sheet.append(
            [
                guard(wish.title),
                guard(child["alias"]),
                child["age"],
                guard(child["district"]),
                wish.amount_fen / 100,
                str(WISH_STATUS_LABELS.get(wish.status, wish.status)),
                attendee.paddle if attendee else None,
                guard(claim.name) if claim else None,
                guard(attendee.organisation) if attendee else None,
                guard(attendee.phone if attendee else (claim.contact if claim else None)),
                dates.compact_day_time(claim.claimed_at) if claim else None,
                guard("; ".join(backups.get(wish.id, []))) or None,
            ]
        )
    people = book.create_sheet(_("Attendees"))
    people.append([_("Paddle"), _("Name"), _("Organisation"), _("Phone")])
    for a in event.attendees:
        people.append([a.paddle, guard(a.name), guard(a.organisation), guard(a.phone)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
