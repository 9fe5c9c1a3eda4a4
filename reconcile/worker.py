"""Stripe runs started from the web, carried out by a thread of the web process.

Paging through a month of Stripe's balance takes longer than a request should: the view
commits the run as `running` (services.start_stripe_run) and hands it to a thread here,
which has its own app context and so its own database session. The thread owns its
commits, as a job does: after every page a short transaction counts the page and moves the
heartbeat (services.record_progress), so the run page can show the rows read so far; once
everything is read, one transaction compares, posts the fees and payouts and writes the
items (services.finish_stripe_run). Stripe not answering, a malformed row or any other error
rolls that back and marks the run failed with the reason, in a transaction of its own. If
the process dies, nothing marks the run: its heartbeat goes stale and it is shown as failed
(services.shown_status) and set failed when the next run starts.
"""

import logging
import threading

from flask import Flask
from flask_babel import gettext as _

from core.errors import DomainError
from core.extensions import db
from core.transactions import transaction
from payments.balance import BadRow
from reconcile import services

logger = logging.getLogger(__name__)

#: app.extensions key: run id → the thread carrying it out (tests wait on it).
THREADS = "reconcile_threads"


class Abandoned(Exception):
    """The run is no longer running (marked failed as stale meanwhile): stop reading."""


def start(app: Flask, run_id: int) -> threading.Thread:
    """Carry out a running run in a thread of this process."""
    thread = threading.Thread(target=carry_out, args=(app, run_id), name=f"reconcile-run-{run_id}", daemon=True)
    app.extensions.setdefault(THREADS, {})[run_id] = thread
    thread.start()
    return thread


def wait(app: Flask, run_id: int, timeout: float = 30) -> None:
    """Until the thread carrying out the run has ended (for tests and an orderly shutdown)."""
    thread = app.extensions.get(THREADS, {}).get(run_id)
    if thread is not None:
        thread.join(timeout)


def carry_out(app: Flask, run_id: int) -> None:
    with app.app_context():
        try:
            _carry_out(run_id)
        finally:
            app.extensions.get(THREADS, {}).pop(run_id, None)
            db.session.remove()


def _carry_out(run_id: int) -> None:
    with transaction():
        run = services.running_run(run_id)
        if run is None:
            return
        since, until = run.since, run.until

    def progress(rows: int) -> None:
        with transaction():
            if not services.record_progress(run_id, 1, rows):
                raise Abandoned()

    try:
        rows, listed = services.fetch_stripe(since, until, progress)
        with transaction():
            services.finish_stripe_run(run_id, rows, listed)
    except Abandoned:
        logger.warning("reconciliation run abandoned", extra={"run": run_id})
    except (DomainError, BadRow) as exc:
        reason = str(exc.message) if isinstance(exc, DomainError) else _("Stripe sent a row that cannot be read.")
        logger.warning("reconciliation run failed", extra={"run": run_id, "error": type(exc).__name__})
        with transaction():
            services.fail_run(run_id, reason)
    except Exception:
        logger.exception("reconciliation run failed", extra={"run": run_id})
        with transaction():
            services.fail_run(run_id, _("The run stopped on an unexpected error; it is in the log."))
