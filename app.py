"""The application factory: configuration, extensions, blueprints, CLI, errors, logging."""

from flask import Flask, abort, request

from core.config import Config


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    app.json.ensure_ascii = False
    from core.sessions import SessionInterface

    app.session_interface = SessionInterface()
    if config:
        app.config.update(config)
    if not app.config["SQLALCHEMY_ENGINE_OPTIONS"]:
        from core.database import engine_options

        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"

    from core.logging import configure_logging

    configure_logging(app)
    from core.secret_key import configure_secret_key

    configure_secret_key(app)
    _init_extensions(app)
    _init_packages(app)
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    from core.cli import register_cli
    from core.errors import register_error_handlers

    register_cli(app)
    register_error_handlers(app)
    return app


def _init_extensions(app: Flask) -> None:
    from pathlib import Path

    from core import fragments, i18n, sessions
    from core.auth import current_user_in_templates, keep_out_of_caches
    from core.database import declare_write_intent, tune_engine
    from core.extensions import babel, csrf, db, limiter, login_manager, migrate

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    with app.app_context():
        tune_engine(db.engine)
    app.before_request(declare_write_intent)
    migrate.init_app(app, db, directory=str(Path(app.root_path) / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "core.login"
    login_manager.login_message = i18n.LOGIN_MESSAGE
    login_manager.login_message_category = "info"
    current_user_in_templates(app)
    sessions.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=lambda: app.config["TIMEZONE"])
    limiter.init_app(app)

    # Import every model so metadata is complete for migrations and relationships.
    import core.models  # noqa: F401
    import core.outbox  # noqa: F401
    import donors.models  # noqa: F401
    import events.models  # noqa: F401
    import funds.models  # noqa: F401
    import impact.models  # noqa: F401
    import payments.models  # noqa: F401
    import reconcile.models  # noqa: F401
    import reminders.models  # noqa: F401
    import wishes.models  # noqa: F401

    @app.before_request
    def _refuse_nul_characters():
        # PostgreSQL can neither store nor compare text holding a NUL: refuse it on every database.
        # The query is parsed only when its raw text can hold one (a NUL is sent as %00), the
        # body only when it is a form.
        environ = request.environ
        query = environ.get("QUERY_STRING", "")
        if (
            "\x00" in request.path
            or (("%00" in query or "\x00" in query) and _has_nul(request.args))
            or ("CONTENT_TYPE" in environ and request.mimetype in _FORMS and _has_nul(request.form))
        ):
            abort(400)

    app.after_request(i18n.persist_locale_choice)
    app.after_request(_security_headers)
    app.after_request(keep_out_of_caches)
    i18n.register_template_helpers(app)
    fragments.init_app(app)


#: The bodies Werkzeug parses into `request.form`; JSON bodies are checked by their schemas.
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(values) -> bool:
    return any("\x00" in k + v for k, v in values.items(multi=True))


def _security_headers(response):
    from core.logging import SECURITY_HEADERS

    # One pass over the headers rather than a search for each: every answer pays for this.
    headers = response.headers
    present = {name.lower() for name, _value in headers}
    for name, value in SECURITY_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    return response


def _init_packages(app: Flask) -> None:
    """Each package registers its own blueprints, commands, template labels and hooks, lowest first."""
    import demo
    import donors
    import events
    import funds
    import impact
    import payments
    import reconcile
    import reminders
    import wishes
    from core.views import bp as core_bp

    app.register_blueprint(core_bp)
    for package in (funds, payments, reconcile, wishes, donors, impact, events, reminders, demo):
        package.init_app(app)
