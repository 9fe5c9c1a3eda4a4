"""Periodic jobs: a declared list that `flask --app app scheduler` runs, each in its own app context."""

import contextlib
import logging
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


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[], int]
    seconds: int


JOBS = (
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

    scheduler = BlockingScheduler(timezone=app.config["TIMEZONE"])
    for job in JOBS:
        scheduler.add_job(run_job, "interval", seconds=job.seconds, args=[app, job], id=job.name, max_instances=1, coalesce=True)
    logger.info("scheduler started", extra={"jobs": [j.name for j in JOBS]})
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
