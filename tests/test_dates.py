"""One date format per context (core/dates.py), in the site's zone and the reader's language.

A stored time is UTC; a reader in Shanghai sees it eight hours later, so a donation made at
23:30 UTC on 1 December was made on 2 December. Every page, mail and export formats dates
through the helper; a template that formats one by hand fails here.
"""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask_babel import force_locale

from core import dates
from tests.test_layers import LAYERS

ROOT = Path(__file__).resolve().parent.parent

#: 23:30 UTC on 1 December 2026 is 07:30 on 2 December in Shanghai.
LATE_EVENING_UTC = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "zh_CN",
            {
                "day": "2026年12月2日",
                "day_time": "2026年12月2日 07:30",
                "month": "2026年12月",
                "compact_day": "2026-12-02",
                "compact_day_time": "2026-12-02 07:30",
                "compact_month": "2026-12",
            },
        ),
        (
            "en",
            {
                "day": "2 Dec 2026",
                "day_time": "2 Dec 2026, 07:30",
                "month": "Dec 2026",
                "compact_day": "2026-12-02",
                "compact_day_time": "2026-12-02 07:30",
                "compact_month": "2026-12",
            },
        ),
    ],
)
def test_each_context_in_each_language_on_the_shanghai_day(app, locale, expected):
    with app.test_request_context(f"/?lang={locale}"), force_locale(locale):
        for name, text in expected.items():
            assert getattr(dates, name)(LATE_EVENING_UTC) == text, name
            # SQLite hands the same moment back without its zone; it is still UTC.
            assert getattr(dates, name)(LATE_EVENING_UTC.replace(tzinfo=None)) == text, name


def test_a_calendar_date_is_not_shifted_and_nothing_reads_as_nothing(app):
    with app.app_context(), force_locale("zh_CN"):
        assert dates.day(date(2026, 12, 1)) == "2026年12月1日"
        assert dates.day_time(date(2026, 12, 1)) == "2026年12月1日"
        assert dates.day(None) == dates.compact_day_time(None) == ""
        assert dates.machine_time(LATE_EVENING_UTC.replace(tzinfo=None)) == "2026-12-01T23:30:00+00:00"
        # The bilingual receipts ask for a language whatever the reader's.
        assert dates.day(LATE_EVENING_UTC, "en") == "2 Dec 2026"


def test_the_page_shows_the_helpers_format_in_the_readers_language(app, client):
    from tests.factories import make_wish

    wish = make_wish(needed_by=date(2026, 12, 24))
    assert "2026年12月24日" in client.get(f"/wishes/{wish.public_id}?lang=zh_CN").text
    assert "24 Dec 2026" in client.get(f"/wishes/{wish.public_id}?lang=en").text


#: Ways a template could format a date by hand instead of through a context filter.
HAND_FORMATTED = [
    (re.compile(r"\.strftime\("), "strftime"),
    (re.compile(r"\.isoformat\("), "isoformat (use |machine_time for a <time datetime> attribute)"),
    (re.compile(r"format_(date|datetime|time)\("), "a Babel format call with its own pattern"),
    (re.compile(r"\|\s*(date|datetime)\b"), "the old |date / |datetime filters"),
    (re.compile(r"%[YBb]|%[mdHM][-/:]%"), "a strftime pattern"),
    (re.compile(r"\.(year|month|day)\s*}}\s*[-/年.]"), "a date put together from its parts"),
    (re.compile(r"_(at|on|date|day)\s*\|\s*string\b"), "a date turned into text with |string"),
]


def test_no_template_formats_a_date_by_hand():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for pattern, what in HAND_FORMATTED:
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {what}: {line.strip()[:100]}")
    assert not found, "Use |day, |day_time, |month or |compact_day (core/dates.py):\n" + "\n".join(found)


def test_the_scan_catches_a_hand_formatted_date():
    samples = [
        "{{ wish.needed_by.strftime('%Y-%m-%d') }}",
        '<time datetime="{{ row.at.isoformat() }}">',
        "{{ claim.due_at | date('long') }}",
        "{{ m.month.year }}-{{ m.month.month }}",
    ]
    for sample in samples:
        assert any(p.search(sample) for p, _what in HAND_FORMATTED), sample
    assert not any(p.search("{{ '%d ms' % run.duration_ms }}") for p, _what in HAND_FORMATTED)


def test_only_the_helper_calls_babel_to_format_a_date():
    """Mails, exports and flash messages reach dates through core/dates.py as well."""
    packages = ["app.py", *LAYERS]
    calls = re.compile(r"\bformat_(date|datetime|time)\b|\.strftime\(")
    found = []
    for name in packages:
        paths = [ROOT / name] if name.endswith(".py") else sorted((ROOT / name).rglob("*.py"))
        for path in paths:
            if path == ROOT / "core" / "dates.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if calls.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "Format dates with core/dates.py:\n" + "\n".join(found)
