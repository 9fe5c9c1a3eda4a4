"""`flask --app app expire-claims`: release overdue claims now."""

import click


def register(app) -> None:
    @app.cli.command("expire-claims")
    def expire_claims_command():
        """Release claims past their due date now."""
        from wishes.jobs import expire_overdue_claims

        click.echo(f"expired {expire_overdue_claims()} claims")
