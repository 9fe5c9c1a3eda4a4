"""Reconciliation: Stripe's balance against the ledger, runs and the items they leave open."""


def init_app(app) -> None:
    from funds.transparency import TRANSPARENCY_SECTIONS
    from funds.views import DASHBOARD_PANELS
    from reconcile import cli, views

    app.register_blueprint(views.bp)
    app.extensions[DASHBOARD_PANELS].append(views.dashboard_panel)
    app.extensions[TRANSPARENCY_SECTIONS].append(views.transparency_section)
    cli.register(app)
