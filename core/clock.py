"""One place that says what time it is, so tests can move it."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context


def utcnow() -> datetime:
    return datetime.now(UTC)


def zone() -> ZoneInfo:
    name = current_app.config["TIMEZONE"] if has_app_context() else "Asia/Shanghai"
    return ZoneInfo(name)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local_today() -> date:
    return utcnow().astimezone(zone()).date()


def end_of_local_day(day: date) -> datetime:
    local = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone())
    return (local - timedelta(seconds=1)).astimezone(UTC)


def age_in_years(birth: date, on: date | None = None) -> int:
    on = on or local_today()
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
