"""One place that says what time it is, so tests and `jobs run --now` can move it."""

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

#: How far this context's clock runs ahead of (or behind) the real one; zero unless moved.
_offset: contextvars.ContextVar[timedelta] = contextvars.ContextVar("clock_offset", default=timedelta(0))


def utcnow() -> datetime:
    return datetime.now(UTC) + _offset.get()


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Run a block as if the clock said `moment` when it began; time goes on from there."""
    token = _offset.set(as_utc(moment) - datetime.now(UTC))
    try:
        yield
    finally:
        _offset.reset(token)


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
