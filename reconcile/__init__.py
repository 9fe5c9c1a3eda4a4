"""Reconciliation: Stripe's balance against the ledger, runs and the items they leave open."""


def init_app(app) -> None:
    from funds.views import DASHBOARD_PANELS
    from reconcile import cli, views

    app.register_blueprint(views.bp)
    app.extensions[DASHBOARD_PANELS].append(views.dashboard_panel)
    cli.register(app)
