"""The scheduler and its declared jobs, claim reminders, 1+1 pairings and digests; above the features they call."""


def init_app(app) -> None:
    from werkzeug.utils import import_string

    from core.i18n import label_of
    from core.outbox import register_sender
    from reminders import cli, views
    from reminders.messages import log_text_message
    from reminders.models import CONTACT_KIND_LABELS

    app.register_blueprint(views.bp)
    cli.register(app)
    sender = app.config.get("SMS_SENDER")
    # Text messages go to the log unless SMS_SENDER names a callable(notification) of a gateway.
    register_sender(app, "sms", import_string(sender) if sender else log_text_message)
    app.jinja_env.globals.update(contact_kind_label=label_of(CONTACT_KIND_LABELS))
