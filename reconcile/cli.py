"""`flask --app app reconcile stripe [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--json]` (DESIGN.md §5)."""

import json
import sys

import click

#: Who the ledger and the audit log name for a run started from the command line.
ACTOR = "cli:reconcile"


def register(app) -> None:
    @app.cli.group("reconcile")
    def reconcile_group():
        """Reconcile the ledger with Stripe."""

    @reconcile_group.command("stripe")
    @click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="First local day (included).")
    @click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last local day (included).")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
    def reconcile_stripe_command(since, until, as_json):
        """Read Stripe's balance transactions, post their fees once, compare with the ledger.

        Exits 0 when nothing is open, 1 when any item is.
        """
        from core.errors import DomainError
        from core.transactions import transaction
        from payments.balance import BadRow
        from reconcile import services

        counted = [0]

        def progress(n: int) -> None:
            # stderr only: stdout carries nothing but the result.
            counted[0] += n
            click.echo(f"\rreading Stripe's balance: {counted[0]} rows", err=True, nl=False)

        try:
            with transaction():
                run = services.run_stripe(
                    ACTOR,
                    since.date() if since else None,
                    until.date() if until else None,
                    progress=progress,
                )
                result = services.summary(run)
        except (DomainError, BadRow) as exc:
            if counted[0]:
                click.echo("", err=True)
            message = exc.message if isinstance(exc, DomainError) else str(exc)
            fields = "; ".join(f"{k}: {v}" for k, v in getattr(exc, "fields", {}).items())
            click.echo(f"reconciliation failed: {message} {fields}".rstrip(), err=True)
            raise SystemExit(2) from None
        if counted[0]:
            click.echo("", err=True)
        if as_json:
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        else:
            click.echo(
                f"run {run.id}: {run.rows} rows, {run.matched} matched, {len(result['items'])} open, "
                f"{run.fees_posted} fees posted ({run.fees_fen} fen), {run.payouts_posted} payout shares posted"
            )
            for item in result["items"]:
                click.echo(
                    f"{item['kind']:16} {item['reference']:32} {item['amount_fen']:>12} "
                    f"{item['difference_fen']:>12} {item['donation'] or ''}"
                )
        raise SystemExit(1 if result["items"] else 0)
