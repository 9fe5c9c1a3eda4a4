"""The impact report, and the service activities (visits, case work, sessions) that staff record for it."""


def init_app(app) -> None:
    from flask_babel import lazy_gettext as _l

    from core.i18n import label_of
    from impact import api, views
    from impact.models import ACTIVITY_KIND_LABELS

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.jinja_env.globals.update(activity_kind_label=label_of(ACTIVITY_KIND_LABELS))
    app.jinja_env.globals.setdefault("staff_desk_cards", []).append(
        {
            "roles": ("caseworker", "supervisor", "fund_admin"),
            "endpoint": "impact.activities",
            "title": _l("Service activities"),
            "text": _l("Home visits, case work and sessions, counted in people-times (人次) for the impact report."),
        }
    )
