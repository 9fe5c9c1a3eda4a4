"""One run of a job at a time across every scheduler process and machine.

PostgreSQL: a session-level advisory lock, taken with `pg_try_advisory_lock` on a
connection of its own that stays open while the job runs. The job's own session commits
as often as it likes without touching the lock; a process that dies loses its connection
and with it the lock, at once.

SQLite (one machine, the embedded default): a lease row in `job_locks`, taken with a
conditional UPDATE that succeeds only where the lease is free or ran out. A holder that
dies leaves its lease to run out (`LEASE`), after which another process takes it.
"""

import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import or_, text, update

from core.clock import utcnow
from core.database import insert_for
from core.extensions import db
from reminders.models import JobLock

#: How long a lease on SQLite lasts; longer than any job runs.
LEASE = timedelta(minutes=15)


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _advisory_key(job: str) -> int:
    # A stable signed 64-bit key per job name (hash() differs between processes).
    return int.from_bytes(hashlib.sha256(f"weixinyuan-job:{job}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def job_lock(job: str) -> Iterator[bool]:
    """Yield True while this process holds the job's lock, False if another one does."""
    if db.engine.dialect.name == "postgresql":
        with _advisory_lock(job) as held:
            yield held
    else:
        with _lease(job) as held:
            yield held


@contextmanager
def _advisory_lock(job: str) -> Iterator[bool]:
    key = _advisory_key(job)
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})


@contextmanager
def _lease(job: str) -> Iterator[bool]:
    holder = f"{runner_name()}:{os.urandom(4).hex()}"
    held = _take_lease(job, holder)
    try:
        yield held
    finally:
        if held:
            with db.engine.begin() as connection:
                connection.execute(
                    update(JobLock)
                    .where(JobLock.job == job, JobLock.holder == holder)
                    .values(holder=None, expires_at=None)
                )


def _take_lease(job: str, holder: str) -> bool:
    now = utcnow()
    with db.engine.begin() as connection:
        connection.execute(
            insert_for(connection)(JobLock).values(job=job, holder=None, expires_at=None).on_conflict_do_nothing()
        )
        result = connection.execute(
            update(JobLock)
            .where(JobLock.job == job, or_(JobLock.holder.is_(None), JobLock.expires_at < now))
            .values(holder=holder, expires_at=now + LEASE)
        )
        return result.rowcount == 1
