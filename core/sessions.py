"""Flask's signed-cookie sessions, with the signing serializer built once per key set.

Flask builds a new `URLSafeTimedSerializer` for every request, session cookie or not;
the serializer holds nothing but its keys and settings, so one per key set serves all.
An empty session that nobody changed (most public requests) only adds `Vary: Cookie` when it
was read, without first reading the cookie's seven settings as Flask does.

Behind https (PUBLIC_BASE_URL) the session and remember-me cookies are Secure and every
answer carries HSTS. Which sessions stay valid is decided in core.auth.load_user.
"""

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


def init_app(app: Flask) -> None:
    if not app.config["PUBLIC_BASE_URL"].lower().startswith("https://"):
        return
    app.config["SESSION_COOKIE_SECURE"] = True
    app.config["REMEMBER_COOKIE_SECURE"] = True
    hsts = f"max-age={app.config['HSTS_MAX_AGE']}; includeSubDomains"

    @app.after_request
    def _strict_transport_security(response):
        response.headers.setdefault("Strict-Transport-Security", hsts)
        return response


class SessionInterface(SecureCookieSessionInterface):
    def __init__(self):
        self._serializers: dict = {}

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer

    def save_session(self, app, session, response) -> None:
        if not session and not session.modified:
            if session.accessed:
                if "Vary" in response.headers:
                    response.vary.add("Cookie")
                else:
                    # What `vary.add` writes on an answer without a Vary header, without parsing one.
                    response.headers["Vary"] = "Cookie"
            return
        super().save_session(app, session, response)
