"""Events: featured wishes, attendees and paddles, the host console, the projected board and its live stream."""

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def init_app(app) -> None:
    from flask_babel import lazy_gettext as _l

    from core.i18n import label_of
    from events import api, broker, receivers, views
    from events.models import EVENT_STATUS_LABELS

    #: How long the host may undo a claim recorded at the event.
    app.config.setdefault("EVENT_UNDO_MINUTES", _int("EVENT_UNDO_MINUTES", 5))
    #: Claims one phone may hold at one event (the room page).
    app.config.setdefault("EVENT_CLAIMS_PER_DEVICE", _int("EVENT_CLAIMS_PER_DEVICE", 3))
    #: Claims per device cookie and event from the room page, as a flask-limiter rate.
    app.config.setdefault("EVENT_ROOM_RATE_LIMIT", os.environ.get("EVENT_ROOM_RATE_LIMIT", "10 per minute"))
    #: A stream ends after this long; the browser reconnects at once with Last-Event-ID.
    app.config.setdefault("EVENT_STREAM_SECONDS", _int("EVENT_STREAM_SECONDS", 300))
    #: A stream reads the log at least this often, whatever the broker says. Without Redis, a claim
    #: answered by another worker (or the scheduler) reaches this worker's streams only this way.
    app.config.setdefault(
        "EVENT_STREAM_POLL_SECONDS", _int("EVENT_STREAM_POLL_SECONDS", 5 if app.config.get("REDIS_URL") else 1)
    )
    #: A keep-alive comment at least this often.
    app.config.setdefault("EVENT_STREAM_HEARTBEAT_SECONDS", _int("EVENT_STREAM_HEARTBEAT_SECONDS", 15))

    broker.init_app(app)
    receivers.connect()
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.jinja_env.globals.update(event_status_label=label_of(EVENT_STATUS_LABELS))
    # The staff desk shows a card per package that has one: the host's leads to events, walls and posters.
    app.jinja_env.globals.setdefault("staff_desk_cards", []).append(
        {
            "roles": ("host",),
            "endpoint": "events.host_events",
            "title": _l("Events"),
            "text": _l("Run an event's board and paddles; campaign walls and posters."),
        }
    )
