"""Flask's signed-cookie sessions, with the signing serializer built once per key set.

Flask builds a new `URLSafeTimedSerializer` for every request, session cookie or not;
the serializer holds nothing but its keys and settings, so one per key set serves all.
"""

from flask.sessions import SecureCookieSessionInterface


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
