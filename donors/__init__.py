"""Donor accounts and a donor's own claims and donations."""


def init_app(app) -> None:
    from donors import views

    app.register_blueprint(views.bp)
