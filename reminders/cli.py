"""`flask --app app scheduler` and `flask --app app jobs list|run NAME [--now …]`.

`jobs run` exits 0 when the job ran, 1 when it failed, 3 when another process was running
it (nothing done); an unknown name or a bad --now is a usage error (2).
"""

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from core.clock import zone

EXIT_FAILED = 1
EXIT_BUSY = 3


def _parse_now(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("give an ISO 8601 time, e.g. 2026-06-01T09:00:00+08:00", param_hint="--now") from None
    # A time without an offset is read in the site's zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=zone())


def register(app) -> None:
    from reminders import jobs

    @app.cli.command("scheduler")
    def scheduler_command():
        """Run the periodic jobs (one such process per site)."""
        jobs.run_scheduler(current_app._get_current_object())

    group = AppGroup("jobs", help="The declared periodic jobs.")

    @group.command("list")
    def list_command():
        """Every declared job with its schedule."""
        width = max(len(job.name) for job in jobs.JOBS)
        for job in jobs.JOBS:
            click.echo(f"{job.name:<{width}}  {job.schedule:<12}  {job.description}")

    @group.command("run")
    @click.argument("name")
    @click.option("--now", "now", default=None, help="Run as if the clock said this (ISO 8601).")
    def run_command(name, now):
        """Run one job once, as if the clock said --now, and commit."""
        job = jobs.job_named(name)
        if job is None:
            names = ", ".join(j.name for j in jobs.JOBS)
            raise click.BadParameter(f"no job named {name!r}; the jobs are: {names}", param_hint="NAME")
        moment = _parse_now(now)
        run = jobs.run_job(current_app._get_current_object(), job, moment)
        if run is None:
            click.echo(f"{name}: running in another process; nothing done", err=True)
            raise SystemExit(EXIT_BUSY)
        click.echo(f"{name}: {run.result}, {run.count} done in {run.duration_ms} ms")
        if run.result != "ok":
            click.echo(run.message or "", err=True)
            raise SystemExit(EXIT_FAILED)

    app.cli.add_command(group)
