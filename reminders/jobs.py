"""Periodic jobs: a declared list that `flask --app app scheduler` runs, each in its own app context.

The jobs sit above the features they call; each is a unit of work that owns its commits.
"""

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from core.extensions import db
from core.outbox import deliver_pending
from payments.apply import apply_backlog
from wishes.jobs import expire_overdue_claims

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[], int]
    seconds: int


JOBS = (
    # The webhook only stores events; a donor on the thank-you page waits for this one.
    Job("apply_payment_events", apply_backlog, 1),
    Job("deliver_notifications", deliver_pending, 15),
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
    # SIGTERM (`make run` stopping, a process manager) ends the loop like Ctrl-C does; a job
    # that is running finishes its transaction before the process exits.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logger.info("scheduler started", extra={"jobs": [j.name for j in JOBS]})
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
    logger.info("scheduler stopped")
