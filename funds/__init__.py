"""Special funds (专项基金), projects, campaigns, donations, the double-entry ledger, receipts and certificates."""


def init_app(app) -> None:
    from core.i18n import label_of
    from funds import cli, disbursement_views, public_api, receipts, transparency, views
    from funds.models import CHANNEL_LABELS, DONATION_STATUS_LABELS

    app.extensions[views.DASHBOARD_PANELS] = []
    app.extensions[transparency.TRANSPARENCY_SECTIONS] = []
    app.register_blueprint(views.bp)
    app.register_blueprint(receipts.bp)
    app.register_blueprint(public_api.bp)
    app.register_blueprint(disbursement_views.bp)
    app.register_blueprint(transparency.bp)
    app.jinja_env.globals.update(
        donation_status_label=label_of(DONATION_STATUS_LABELS),
        channel_label=label_of(CHANNEL_LABELS),
    )
    cli.register(app)
