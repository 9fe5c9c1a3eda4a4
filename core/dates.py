"""Dates and times as people read them: one function per context, one format per context.

Times are stored in UTC (SQLite hands them back naive); a person reads them in the
configured zone (TIMEZONE, Asia/Shanghai by default), so 23:30 UTC on 1 December is
2 December in Shanghai. Each function follows the reader's language — the request's, or
the one a mail is written in (flask_babel.force_locale) — unless a `locale` is given, as
the bilingual receipts do. Templates reach the same functions as filters (`|day`,
`|day_time`, `|month`, `|compact_day`, `|compact_day_time`); tests/test_dates.py fails on
a template that formats a date by hand.

- day: a date in a sentence or a detail page (2026年12月2日 / 2 Dec 2026)
- day_time: a moment someone acted (2026年12月2日 14:05 / 2 Dec 2026, 14:05)
- month: a month as a heading (2026年12月 / Dec 2026)
- compact_day, compact_day_time, compact_month: dense tables and exports, the same in
  every language and sortable (2026-12-02, 2026-12-02 14:05, 2026-12)
- machine_time: the ISO instant for a `<time datetime>` attribute, never shown as text
"""

from datetime import date, datetime

from babel import Locale
from babel.dates import format_date, format_datetime
from flask_babel import get_locale

from core.clock import as_utc, zone

#: The reader's patterns by language; Chinese for every Chinese locale.
_PATTERNS = {
    "zh": {"day": "y年M月d日", "day_time": "y年M月d日 HH:mm", "month": "y年M月"},
    "en": {"day": "d MMM y", "day_time": "d MMM y, HH:mm", "month": "MMM y"},
}
_COMPACT = {"day": "yyyy-MM-dd", "day_time": "yyyy-MM-dd HH:mm", "month": "yyyy-MM"}


def _locale(locale: str | Locale | None) -> Locale:
    if locale is None:
        locale = get_locale() or "zh_CN"
    return locale if isinstance(locale, Locale) else Locale.parse(locale)


def local(value: date | datetime) -> date | datetime:
    """A stored UTC moment in the configured zone; a calendar date as it is."""
    if isinstance(value, datetime):
        return as_utc(value).astimezone(zone())
    return value


def _local_day(value: date | datetime) -> date:
    value = local(value)
    return value.date() if isinstance(value, datetime) else value


def _pattern(context: str, locale: Locale) -> str:
    return _PATTERNS.get(locale.language, _PATTERNS["en"])[context]


def day(value: date | datetime | None, locale: str | Locale | None = None) -> str:
    if not value:
        return ""
    where = _locale(locale)
    return format_date(_local_day(value), _pattern("day", where), locale=where)


def day_time(value: date | datetime | None, locale: str | Locale | None = None) -> str:
    """A moment to the minute; a plain date (no time to show) reads as its day."""
    if not value:
        return ""
    if not isinstance(value, datetime):
        return day(value, locale)
    where = _locale(locale)
    return format_datetime(local(value), _pattern("day_time", where), locale=where)


def month(value: date | datetime | None, locale: str | Locale | None = None) -> str:
    if not value:
        return ""
    where = _locale(locale)
    return format_date(_local_day(value), _pattern("month", where), locale=where)


def compact_day(value: date | datetime | None) -> str:
    return format_date(_local_day(value), _COMPACT["day"], locale="en") if value else ""


def compact_day_time(value: date | datetime | None) -> str:
    if not value:
        return ""
    if not isinstance(value, datetime):
        return compact_day(value)
    return format_datetime(local(value), _COMPACT["day_time"], locale="en")


def compact_month(value: date | datetime | None) -> str:
    return format_date(_local_day(value), _COMPACT["month"], locale="en") if value else ""


def machine_time(value: date | datetime | None) -> str:
    """For `<time datetime="…">`: a UTC instant with its offset, or a calendar date."""
    if not value:
        return ""
    return as_utc(value).isoformat() if isinstance(value, datetime) else value.isoformat()


FILTERS = {
    "day": day,
    "day_time": day_time,
    "month": month,
    "compact_day": compact_day,
    "compact_day_time": compact_day_time,
    "compact_month": compact_month,
    "machine_time": machine_time,
}
