"""Reconciliation: Stripe's balance against the ledger, runs and the items they leave open."""


def init_app(app) -> None:
    from reconcile import cli

    cli.register(app)
