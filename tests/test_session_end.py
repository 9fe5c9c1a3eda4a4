"""Sessions that end: signing out, a new password, new roles or deactivation make every copied cookie worthless."""

import statistics
import time

import pytest

from core import services
from core.models import Role, User
from tests.conftest import make_app
from tests.factories import PASSWORD, login, make_child, make_user
from tests.helpers import client_for


def _copy_cookies(source, target, *names):
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, name
        target.set_cookie(name, cookie.value)


def _signed_in_with_remember(app, user):
    client = client_for(app)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    assert response.status_code == 302
    return client


def _opens(client, path) -> bool:
    return client.get(path).status_code == 200


@pytest.mark.parametrize("cookies", [("session",), ("remember_token",), ("session", "remember_token")])
def test_a_cookie_copied_before_logout_no_longer_opens_a_childs_file(app, db, cookies):
    caseworker = make_user(Role.CASEWORKER)
    child = make_child(caseworker)
    page = f"/staff/children/{child.id}"
    client = _signed_in_with_remember(app, caseworker)
    assert _opens(client, page)
    thief = client_for(app)
    _copy_cookies(client, thief, *cookies)
    assert _opens(thief, page)
    client.post("/logout")
    assert not _opens(client, page)
    assert not _opens(thief, page)
    # Signing in again gives a fresh session; the copied one stays dead.
    login(client, caseworker)
    assert _opens(client, page)
    assert not _opens(thief, page)


@pytest.mark.parametrize(
    "change",
    [
        lambda admin, user: services.change_password(user, "a-brand-new-password"),
        lambda admin, user: services.set_roles(admin, user, [Role.CASEWORKER, Role.SUPERVISOR]),
        lambda admin, user: services.grant_role(user, Role.HOST, actor=admin),
        lambda admin, user: services.set_active(admin, user, False),
    ],
    ids=["password", "set_roles", "grant_role", "deactivation"],
)
def test_password_role_and_activity_changes_end_every_session(app, db, change):
    admin = make_user(Role.ADMIN)
    caseworker = make_user(Role.CASEWORKER)
    child = make_child(caseworker)
    page = f"/staff/children/{child.id}"
    client = _signed_in_with_remember(app, caseworker)
    assert _opens(client, page)
    change(admin, db.session.get(User, caseworker.id))
    db.session.commit()
    assert not _opens(client, page)
    remembered = client_for(app)
    _copy_cookies(client, remembered, "remember_token")
    assert not _opens(remembered, page)


def test_an_admin_changing_their_own_roles_stays_signed_in(app, db):
    admin = make_user(Role.ADMIN)
    client = client_for(app)
    login(client, admin)
    response = client.post(f"/admin/users/{admin.id}", data={"roles": [Role.ADMIN, Role.HOST], "active": "y"})
    assert response.status_code == 302
    assert _opens(client, "/admin/users")


def test_remember_me_lasts_at_most_30_days_and_is_httponly_and_lax(app, db):
    user = make_user(Role.CASEWORKER)
    client = client_for(app)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token="))
    assert "HttpOnly" in header and "SameSite=Lax" in header
    cookie = client.get_cookie("remember_token")
    days = (cookie.expires - cookie.expires.now(cookie.expires.tzinfo)).days if cookie.expires else None
    assert days is not None and days <= 30


def test_behind_https_cookies_are_secure_and_hsts_is_sent(database_url, tmp_path, db):
    user = make_user(Role.CASEWORKER)
    app = make_app(database_url, tmp_path, PUBLIC_BASE_URL="https://weixinyuan.example.org")
    client = client_for(app)
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "remember": "y"},
        base_url="https://weixinyuan.example.org",
    )
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c for c in cookies)
    assert {c.split("=", 1)[0] for c in cookies} >= {"session", "remember_token"}
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_over_plain_http_there_is_no_hsts(client, db):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_logins_are_limited_per_account_from_however_many_addresses(database_url, tmp_path, db):
    user = make_user(Role.CASEWORKER)
    other = make_user(Role.CASEWORKER)
    app = make_app(
        database_url,
        tmp_path,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        LOGIN_RATE_LIMIT="100 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="5 per 15 minutes",
    )
    client = client_for(app)

    def attempt(n, email, password="wrong-password"):
        return client.post(
            "/login",
            data={"email": email, "password": password},
            environ_base={"REMOTE_ADDR": f"203.0.113.{n}"},
        ).status_code

    assert [attempt(n, user.email) for n in range(5)] == [422] * 5
    # The sixth guess from a sixth address, with the address written differently, is refused.
    assert attempt(6, f"  {user.email.upper()} ") == 429
    assert attempt(7, user.email, PASSWORD) == 429
    # Another account is not locked by it.
    assert attempt(8, other.email, PASSWORD) == 302


def _median_login_seconds(client, email, tries=7) -> float:
    times = []
    for _ in range(tries):
        start = time.perf_counter()
        response = client.post("/login", data={"email": email, "password": "not-the-password"})
        times.append(time.perf_counter() - start)
        assert response.status_code == 422
    return statistics.median(times)


def test_a_login_for_an_unknown_account_costs_as_much_as_for_a_known_one(app, db):
    # No fast_passwords here: the account's hash has the production method and cost.
    user = make_user(Role.DONOR)
    inactive = make_user(Role.DONOR)
    inactive.active = False
    db.session.commit()
    client = client_for(app)
    _median_login_seconds(client, "nobody@example.org", tries=1)
    known = _median_login_seconds(client, user.email)
    unknown = _median_login_seconds(client, "nobody@example.org")
    disabled = _median_login_seconds(client, inactive.email)
    assert 0.5 < unknown / known < 2, (known, unknown)
    assert 0.5 < disabled / known < 2, (known, disabled)
