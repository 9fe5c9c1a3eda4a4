"""Commands: `flask --app app create-user | seed-demo | scheduler | expire-claims | deliver-mail |
apply-payment-events | ledger check`."""

import click
from flask import current_app

from core.extensions import db


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
            user = create_user(email, password, display_name or email.split("@")[0], roles=roles, actor="cli")
            db.session.commit()
        except ValidationError as exc:
            db.session.rollback()
            for field, message in exc.fields.items():
                click.echo(f"{field}: {message}", err=True)
            raise SystemExit(1) from None
        click.echo(f"created {user.email} ({', '.join(sorted(user.roles))})")

    @app.cli.command("seed-demo")
    @click.option("--force", is_flag=True, help="Seed even when the database already has users.")
    def seed_demo_command(force):
        """Fill an empty database with demo data drawn from the field reports."""
        from core.demo import DEMO_PASSWORD, seed_demo

        created = seed_demo(force=force)
        if not created:
            click.echo("the database already has data; nothing seeded (use --force to add demo data anyway)")
            return
        db.session.commit()
        click.echo(
            f"demo data: {created['wishes']} wishes, {created['children']} children, {created['funds']} funds, "
            f"{created['projects']} projects, {created['campaigns']} campaigns, {created['donations']} donations"
        )
        click.echo(f"demo accounts (password {DEMO_PASSWORD}):")
        for email, roles in created["users"]:
            click.echo(f"  {email:32} {', '.join(roles)}")

    @app.cli.command("scheduler")
    def scheduler_command():
        """Run the periodic jobs (one such process per site)."""
        from reminders.jobs import run_scheduler

        run_scheduler(current_app._get_current_object())

    @app.cli.command("expire-claims")
    def expire_claims_command():
        """Release claims past their due date now."""
        from reminders.jobs import expire_overdue_claims

        click.echo(f"expired {expire_overdue_claims()} claims")

    @app.cli.command("deliver-mail")
    def deliver_mail_command():
        """Send the notifications waiting in the outbox."""
        from reminders.jobs import deliver_notifications

        click.echo(f"sent {deliver_notifications()} notifications")

    @app.cli.command("apply-payment-events")
    def apply_payment_events_command():
        """Apply the Stripe events the webhook stored and no job has applied yet."""
        from reminders.jobs import apply_payment_events

        click.echo(f"applied {apply_payment_events()} payment events")

    @app.cli.group("ledger")
    def ledger_group():
        """The funds' double-entry ledger."""

    @ledger_group.command("check")
    def ledger_check_command():
        """Verify every ledger invariant; exit 1 on any breach."""
        from funds.ledger import check, figures
        from funds.models import Fund

        breaches = check()
        for fund in db.session.scalars(db.select(Fund).order_by(Fund.slug)):
            f = figures()[fund.id]
            click.echo(
                f"{fund.slug:24} balance {f.balance_fen:>12} raised {f.raised_fen:>12} spent {f.spent_fen:>12} (fen)"
            )
        for breach in breaches:
            click.echo(f"BREACH {breach}", err=True)
        if breaches:
            raise SystemExit(1)
        click.echo("ledger ok: every journal balances, every fund adds up, receipts have no gaps")
