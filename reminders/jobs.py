"""Periodic jobs: a declared list that `flask --app app scheduler` runs, each in its own app context.

Every job is written to catch up with the clock rather than to count on being run at a
given minute: it does what is due *by now* and marks it done with a unique key (a claim
reminder per claim and offset, a digest per recipient and day or week, a pairing reminder
per volunteer and month). So a run missed while the scheduler was down is made good by the
next run, once; a run repeated by mistake finds nothing left to do.

The scheduler (APScheduler 3, in-memory job store, one process per site) is set so:

- `coalesce=True`: runs that piled up while the process was busy or suspended are run once,
  not once per missed tick.
- `misfire_grace_time` = the job's own interval: APScheduler's default of 1 second silently
  drops a run that starts a little late (a loaded machine, a long job before it); a run up
  to one interval late is still worth running, a later one is replaced by the next tick.
- `max_instances=1`: a slow run is never overlapped by the next tick of the same job.

APScheduler's job stores cannot be shared between processes, so each scheduler process
owns its schedule; a second process (started by mistake, or one per machine) is kept from
running the same job at the same time by `reminders.locks.job_lock`, and from repeating
finished work by the unique keys above.
"""

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from core.clock import clock_at, utcnow
from core.extensions import db
from core.outbox import deliver_pending
from core.redact import mask_text
from payments.apply import apply_backlog
from reminders import digests, pairings, services
from reminders.locks import job_lock, runner_name
from reminders.models import JobResult, JobRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[], int]
    seconds: int
    description: object

    @property
    def schedule(self) -> str:
        if self.seconds % 3600 == 0:
            return f"every {self.seconds // 3600} h"
        if self.seconds % 60 == 0:
            return f"every {self.seconds // 60} min"
        return f"every {self.seconds} s"

    def schedule_label(self) -> str:
        """The schedule in the reader's language (the CLI keeps the short English form)."""
        if self.seconds % 3600 == 0:
            return _("every %(n)d h", n=self.seconds // 3600)
        if self.seconds % 60 == 0:
            return _("every %(n)d min", n=self.seconds // 60)
        return _("every %(n)d s", n=self.seconds)


JOBS = (
    # The webhook only stores events; a donor on the thank-you page waits for this one.
    Job("apply-payment-events", apply_backlog, 1, _l("Apply stored payment events to donations")),
    # A claim's first mail, with its manage link, goes out within a minute of the claim.
    Job("deliver-mail", deliver_pending, 15, _l("Send the notifications waiting in the outbox")),
    Job("expire-overdue-claims", services.expire_overdue_claims, 300, _l("Release claims past their due date")),
    Job("send-claim-reminders", services.send_claim_reminders, 900, _l("Remind donors of their claims' due dates")),
    Job("pairing-reminders", pairings.send_pairing_reminders, 3600, _l("Remind 1+1 volunteers without a contact")),
    Job("digests", digests.send_digests, 3600, _l("Daily and weekly digests for staff")),
)


@dataclass(frozen=True)
class RunOutcome:
    job: str
    result: str
    count: int
    duration_ms: int
    message: str | None


#: How long the record of a run is kept.
KEEP_RUNS = timedelta(days=30)

#: A job run more often than this keeps one record of its quiet runs, not one per run.
QUIET_RECORD_SECONDS = 300


def job_named(name: str) -> Job | None:
    return next((job for job in JOBS if job.name == name), None)


def run_job(app, job: Job, now: datetime | None = None) -> RunOutcome | None:
    """Run one job once, under its lock, and keep a record; None when another process holds the lock."""
    with app.app_context(), clock_at(now) if now else nullcontext():
        try:
            with job_lock(job.name) as held:
                if not held:
                    logger.info("job skipped: running elsewhere", extra={"job": job.name})
                    return None
                return _run_recorded(job)
        finally:
            db.session.remove()


def _run_recorded(job: Job) -> RunOutcome:
    run = JobRun(job=job.name, started_at=utcnow(), result=JobResult.RUNNING, runner=runner_name())
    db.session.add(run)
    db.session.commit()
    run_id = run.id
    started = time.monotonic()
    result, count, message = JobResult.OK, 0, None
    try:
        count = int(job.func() or 0)
    except Exception as exc:
        db.session.rollback()
        logger.exception("job failed", extra={"job": job.name})
        # Shown on the jobs page: no address, phone or link an error message may carry.
        result, message = JobResult.FAILED, mask_text(f"{type(exc).__name__}: {exc}")[:500]
    db.session.rollback()
    run = db.session.get(JobRun, run_id)
    run.finished_at = utcnow()
    run.result = result
    run.count = count
    run.message = message
    run.duration_ms = int((time.monotonic() - started) * 1000)
    if count:
        logger.info("job done", extra={"job": job.name, "count": count})
    _fold_quiet_run(job, run)
    db.session.execute(delete(JobRun).where(JobRun.job == job.name, JobRun.started_at < utcnow() - KEEP_RUNS))
    outcome = RunOutcome(job.name, result, count, run.duration_ms, message)
    db.session.commit()
    return outcome


def _fold_quiet_run(job: Job, run: JobRun) -> None:
    """A frequent job's run that did nothing replaces the previous such record instead of adding one."""
    if job.seconds >= QUIET_RECORD_SECONDS or run.result != JobResult.OK or run.count:
        return
    previous = db.session.scalar(
        select(JobRun).where(JobRun.job == job.name, JobRun.id < run.id).order_by(JobRun.id.desc()).limit(1)
    )
    if previous is not None and previous.result == JobResult.OK and not previous.count:
        db.session.delete(previous)


def build_scheduler(app, scheduler_class=None):
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = (scheduler_class or BlockingScheduler)(timezone=app.config["TIMEZONE"])
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
            misfire_grace_time=job.seconds,
        )
    return scheduler


def run_scheduler(app) -> None:
    from apscheduler.schedulers.base import STATE_STOPPED

    if app.config["SCHEDULER_NICE"]:
        os.nice(app.config["SCHEDULER_NICE"])
    # A job that runs every second would write two lines a second; run_job logs what each did.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)
    scheduler = build_scheduler(app)
    stopping = threading.Event()

    def shut_down():
        while scheduler.state == STATE_STOPPED:
            # The signal came before the scheduler started: stop it once it has.
            time.sleep(0.05)
        scheduler.shutdown()

    def stop(*_signal):
        # From another thread: the handler must not interrupt the main thread in the middle of
        # whatever it was doing (a log line half written). A running job finishes first. The
        # signal may come twice (Ctrl-C reaches the whole group, then `make` passes on SIGTERM).
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=shut_down, name="scheduler-stop").start()

    # Ctrl-C, or SIGTERM from `make run` stopping or a process manager.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logger.info("scheduler started", extra={"jobs": [j.name for j in JOBS]})
    scheduler.start()
    logger.info("scheduler stopped")
