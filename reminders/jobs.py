"""Periodic jobs: a declared list that `flask --app app scheduler` runs, each in its own app context."""

import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.extensions import db

logger = logging.getLogger(__name__)


def expire_overdue_claims() -> int:
    """Release every claim past its due date that was never reported delivered."""
    from core.errors import DomainError
    from wishes.services import expire_claim, overdue_claims

    expired = 0
    for claim in overdue_claims():
        try:
            expire_claim(claim)
            db.session.commit()
            expired += 1
        except DomainError:
            db.session.rollback()
    return expired


def deliver_notifications() -> int:
    """Send the outbox, one commit per notification, so a failure never resends the others."""
    from reminders.services import deliver, pending_notifications

    ids = pending_notifications()
    db.session.rollback()
    sent = 0
    for notification_id in ids:
        sent += deliver(notification_id)
        db.session.commit()
    return sent


def apply_payment_events(batch: int | None = None) -> int:
    """Apply every event the webhook stored, a few per transaction, until none waits.

    SQLite has one write lock, which the webhook needs too: there each transaction takes
    five events and the job then pauses as long as it held the lock, so that deliveries
    arriving meanwhile are stored without waiting long.
    """
    from core.database import read_only
    from funds.payments import apply_received, has_received

    with read_only():
        waiting = has_received()
        db.session.rollback()
    if not waiting:
        return 0
    sqlite = db.engine.dialect.name == "sqlite"
    batch = batch or (5 if sqlite else 20)
    applied = 0
    while True:
        started = time.monotonic()
        taken = apply_received(batch)
        db.session.commit()
        if not taken:
            return applied
        applied += taken
        if sqlite:
            time.sleep(time.monotonic() - started)


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[], int]
    seconds: int


JOBS = (
    # The webhook only stores events; a donor on the thank-you page waits for this one.
    Job("apply_payment_events", apply_payment_events, 1),
    Job("deliver_notifications", deliver_notifications, 15),
    Job("expire_overdue_claims", expire_overdue_claims, 600),
)


def run_job(app, job: Job) -> None:
    with app.app_context():
        try:
            count = job.func()
            if count:
                logger.info("job done", extra={"job": job.name, "count": count})
        except Exception:
            db.session.rollback()
            logger.exception("job failed", extra={"job": job.name})
        finally:
            db.session.remove()


def run_scheduler(app) -> None:
    from apscheduler.schedulers.blocking import BlockingScheduler

    if app.config["SCHEDULER_NICE"]:
        os.nice(app.config["SCHEDULER_NICE"])
    # A job that runs every second would write two lines a second; run_job logs what each did.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    scheduler = BlockingScheduler(timezone=app.config["TIMEZONE"])
    for job in JOBS:
        scheduler.add_job(
            run_job,
            "interval",
            seconds=job.seconds,
            args=[app, job],
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
        )
    logger.info("scheduler started", extra={"jobs": [j.name for j in JOBS]})
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
