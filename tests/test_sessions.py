"""Signed-in sessions survive a key rotation while the old key is a fallback, and end when it is dropped."""

from core.models import Role
from tests.factories import login, make_user
from tests.helpers import client_for, fast_passwords  # noqa: F401 (an autouse fixture)
from tests.payment_helpers import configured


def signed_in(client) -> bool:
    return client.get("/staff/").status_code == 200


def test_a_rotated_secret_key_keeps_sessions_only_while_the_old_key_is_a_fallback(app, db):
    user = make_user(Role.CASEWORKER)
    client = client_for(app)
    login(client, user)
    assert signed_in(client)
    old = app.config["SECRET_KEY"]
    with configured(app, SECRET_KEY="a-new-key", SECRET_KEY_FALLBACKS=[old]):
        assert signed_in(client)
    with configured(app, SECRET_KEY="a-new-key", SECRET_KEY_FALLBACKS=[]):
        assert not signed_in(client)
