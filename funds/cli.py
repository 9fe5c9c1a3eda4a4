"""`flask --app app ledger check`: verify the books."""

import click

from core.extensions import db


def register(app) -> None:
    @app.cli.group("ledger")
    def ledger_group():
        """The funds' double-entry ledger."""

    @ledger_group.command("check")
    def ledger_check_command():
        """Verify every ledger invariant; exit 1 on any breach."""
        from funds.integrity import check
        from funds.ledger import figures
        from funds.models import Fund

        breaches = check()
        totals = figures()
        for fund in db.session.scalars(db.select(Fund).order_by(Fund.slug)):
            f = totals[fund.id]
            click.echo(
                f"{fund.slug:24} balance {f.balance_fen:>12} raised {f.raised_fen:>12} spent {f.spent_fen:>12}"
                f" fees {f.fees_fen:>10} (fen)"
            )
        for breach in breaches:
            click.echo(f"BREACH {breach}", err=True)
        if breaches:
            raise SystemExit(1)
        click.echo("ledger ok: every journal balances, every fund adds up, receipts have no gaps")
