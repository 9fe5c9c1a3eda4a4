"""Reconciliation: Stripe's balance and the bank's statements against the ledger, runs and the items they
leave open, and what a fund administrator does with each."""


def init_app(app) -> None:
    from funds.transparency import TRANSPARENCY_SECTIONS
    from funds.views import DASHBOARD_PANELS
    from reconcile import cli, views

    app.register_blueprint(views.bp)
    app.extensions[DASHBOARD_PANELS].append(views.dashboard_panel)
    app.extensions[TRANSPARENCY_SECTIONS].append(views.transparency_section)
    cli.register(app)
