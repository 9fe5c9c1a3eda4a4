"""`flask --app app apply-payment-events`: apply the stored Stripe events now."""

import click


def register(app) -> None:
    @app.cli.command("apply-payment-events")
    def apply_payment_events_command():
        """Apply the Stripe events the webhook stored and no job has applied yet."""
        from payments.apply import apply_backlog

        click.echo(f"applied {apply_backlog()} payment events")
