"""The ground floor's commands: `flask --app app create-user` and `deliver-mail`.

Each package registers its own commands at start-up (funds: `ledger check`; payments:
`apply-payment-events`; wishes: `expire-claims`; reminders: `scheduler`; demo: `seed-demo`).
"""

import click

from core.transactions import transaction


def register_cli(app) -> None:
    @app.cli.command("create-user")
    @click.argument("email")
    @click.option(
        "--role", "roles", multiple=True, required=True, help="caseworker, supervisor, fund_admin, host, admin or donor"
    )
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--name", "display_name", default=None)
    def create_user_command(email, roles, password, display_name):
        """Create an account with one or more roles."""
        from core.errors import ValidationError
        from core.services import create_user

        try:
            with transaction():
                user = create_user(email, password, display_name or email.split("@")[0], roles=roles, actor="cli")
        except ValidationError as exc:
            for field, message in exc.fields.items():
                click.echo(f"{field}: {message}", err=True)
            raise SystemExit(1) from None
        click.echo(f"created {user.email} ({', '.join(sorted(user.roles))})")

    @app.cli.command("deliver-mail")
    def deliver_mail_command():
        """Send the notifications waiting in the outbox."""
        from core.outbox import deliver_pending

        click.echo(f"sent {deliver_pending()} notifications")
