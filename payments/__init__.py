"""The one door to Stripe: checkout, the webhook intake, applying events, the offline simulator, the review queue."""


def init_app(app) -> None:
    from funds.views import DASHBOARD_PANELS
    from payments import api, cli, donate, refund_views, views
    from payments.intake import WebhookEndpoint

    app.extensions[donate.THANKS_SECTIONS] = []
    app.extensions[api.DONATION_TARGETS] = {}
    app.register_blueprint(views.bp)
    app.register_blueprint(donate.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(refund_views.bp)
    app.extensions[DASHBOARD_PANELS].append(views.dashboard_panel)
    # Signed deliveries are answered in front of Flask; see payments/intake.py.
    app.wsgi_app = WebhookEndpoint(app, app.wsgi_app)
    cli.register(app)
