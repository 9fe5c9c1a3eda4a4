"""`flask --app app seed-demo`: fill an empty database with demo data."""

import click

from core.transactions import transaction


def register(app) -> None:
    @app.cli.command("seed-demo")
    @click.option("--force", is_flag=True, help="Seed even when the database already has users.")
    def seed_demo_command(force):
        """Fill an empty database with demo data drawn from the field reports."""
        from demo.data import DEMO_PASSWORD, seed_demo

        with transaction():
            created = seed_demo(force=force)
        if not created:
            click.echo("the database already has data; nothing seeded (use --force to add demo data anyway)")
            return
        click.echo(
            f"demo data: {created['wishes']} wishes ({created['fulfilled']} fulfilled), {created['children']} children, "
            f"{created['funds']} funds, {created['projects']} projects, {created['campaigns']} campaigns, "
            f"{created['donations']} donations over the past year, {created['activities']} service activities"
        )
        click.echo(f"demo accounts (password {DEMO_PASSWORD}):")
        for email, roles in created["users"]:
            click.echo(f"  {email:32} {', '.join(roles)}")
