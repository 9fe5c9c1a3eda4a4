"""`flask --app app scheduler`: run the periodic jobs (one such process per site)."""

from flask import current_app


def register(app) -> None:
    @app.cli.command("scheduler")
    def scheduler_command():
        """Run the periodic jobs (one such process per site)."""
        from reminders.jobs import run_scheduler

        run_scheduler(current_app._get_current_object())
