"""One's own password: changed when signed in, reset by an e-mailed link that works once, briefly, for its account only."""

import concurrent.futures
import json
import re
import statistics
import time
import zlib
from datetime import timedelta

import pytest
import requests
import time_machine
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode
from sqlalchemy import select

from core import services
from core.clock import utcnow
from core.models import AuditLog, Role, User
from core.outbox import Notification, deliver_pending
from tests.conftest import make_app
from tests.factories import PASSWORD, make_child, make_user
from tests.helpers import client_for, fast_passwords  # noqa: F401 (an autouse fixture)

NEW = "a-brand-new-password"


def _signed_in(app, user, remember=False):
    client = client_for(app)
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    assert client.post("/login", data=data).status_code == 302
    return client


def _copy_of(app, source):
    """Another browser holding copies of the source's cookies (a thief, or another device)."""
    thief = client_for(app)
    for name in ("session", "remember_token"):
        cookie = source.get_cookie(name)
        if cookie is not None:
            thief.set_cookie(name, cookie.value)
    return thief


def _opens_staff_page(client, page) -> bool:
    return client.get(page).status_code == 200


def _can_sign_in(app, email, password) -> bool:
    return client_for(app).post("/login", data={"email": email, "password": password}).status_code == 302


def _notes(db, kind):
    db.session.rollback()
    return list(db.session.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id)))


def _reset_link(db, email) -> str:
    note = [n for n in _notes(db, "password_reset") if n.recipient == email][-1]
    return re.search(r"http://localhost(/password/reset/\S+)", note.body).group(1)


def _ask_for_reset(app, email, **kwargs):
    return client_for(app).post("/password/forgot", data={"email": email}, **kwargs)


def _new(password=NEW, confirm=None) -> dict:
    return {"password": password, "confirm": confirm or password}


def _audit_actions(db, user) -> list[str]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(AuditLog.action).where(AuditLog.object_type == "users", AuditLog.object_id == user.id)
        )
    )


# --- changing one's password ---------------------------------------------------------------------


def test_a_wrong_current_password_changes_nothing(app, db):
    user = make_user(Role.DONOR)
    client = _signed_in(app, user)
    response = client.post(
        "/account/password", data={"current_password": "not-my-password", **_new()}, follow_redirects=False
    )
    assert response.status_code == 422
    assert "当前密码不正确".encode() in response.data
    assert _can_sign_in(app, user.email, PASSWORD) and not _can_sign_in(app, user.email, NEW)
    assert _notes(db, "password_changed") == []


def test_mismatched_or_short_new_passwords_are_refused(app, db):
    user = make_user(Role.DONOR)
    client = _signed_in(app, user)
    for data in (_new(NEW, "a-different-one"), _new("short")):
        response = client.post("/account/password", data={"current_password": PASSWORD, **data})
        assert response.status_code == 422
    assert _can_sign_in(app, user.email, PASSWORD)


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.DONOR])
def test_changing_the_password_ends_every_other_session_and_keeps_this_one(app, db, role):
    user = make_user(role)
    child_page = f"/staff/children/{make_child(user).id}" if role == Role.CASEWORKER else "/me/claims"
    client = _signed_in(app, user, remember=True)
    other_device = _copy_of(app, client)
    assert _opens_staff_page(other_device, child_page)
    # The page is linked from every page's top bar.
    assert b'href="/account/password"' in client.get(child_page).data
    assert client.get("/account/password").status_code == 200

    response = client.post("/account/password", data={"current_password": PASSWORD, **_new()})
    assert response.status_code == 302
    assert response.headers["Location"] == ("/staff/" if role == Role.CASEWORKER else "/me/claims")
    assert _opens_staff_page(client, child_page)
    # The remember-me cookie of this browser was renewed: alone it still opens the page.
    remembered_only = client_for(app)
    remembered_only.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert _opens_staff_page(remembered_only, child_page)
    # The other device, session and remember-me cookies both, is signed out.
    assert not _opens_staff_page(other_device, child_page)
    assert _can_sign_in(app, user.email, NEW) and not _can_sign_in(app, user.email, PASSWORD)
    assert "user.password_changed" in _audit_actions(db, user)
    [note] = _notes(db, "password_changed")
    assert note.recipient == user.email and "/password/forgot" in note.body
    assert PASSWORD not in note.body and NEW not in note.body


def test_the_password_page_needs_a_signed_in_user(app, db):
    client = client_for(app)
    assert client.get("/account/password").status_code == 302
    assert client.post("/account/password", data={"current_password": "x", **_new()}).status_code == 302


def test_wrong_current_passwords_count_against_the_accounts_sign_in_limit(database_url, tmp_path, db):
    user = make_user(Role.CASEWORKER)
    limited = make_app(
        database_url,
        tmp_path,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        LOGIN_RATE_LIMIT="100 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="4 per 15 minutes",
    )
    client = _signed_in(limited, user)  # one sign-in: one of four

    def guess(n):
        data = {"current_password": f"guess-{n}", **_new()}
        return client.post("/account/password", data=data, environ_base={"REMOTE_ADDR": f"203.0.113.{n}"})

    assert [guess(n).status_code for n in range(3)] == [422, 422, 422]
    # The budget is spent: no more guesses here, and no sign-in naming the account from elsewhere.
    assert guess(4).status_code == 429
    answer = client_for(limited).post(
        "/login", data={"email": user.email, "password": PASSWORD}, environ_base={"REMOTE_ADDR": "198.51.100.9"}
    )
    assert answer.status_code == 429


def test_only_a_wrong_current_password_counts_against_the_limit(database_url, tmp_path, db):
    user = make_user(Role.DONOR)
    limited = make_app(
        database_url,
        tmp_path,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        LOGIN_RATE_LIMIT="100 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="2 per 15 minutes",
    )
    client = _signed_in(limited, user)
    # Two new passwords that differ, with the right current one: a typing slip, not a guess.
    for _ in range(3):
        response = client.post("/account/password", data={"current_password": PASSWORD, **_new(NEW, "typo")})
        assert response.status_code == 422
    passwords = [PASSWORD, "second-password", "third-password", "fourth-password"]
    for old, new in zip(passwords, passwords[1:], strict=False):
        assert client.post("/account/password", data={"current_password": old, **_new(new)}).status_code == 302


# --- asking for a reset link ---------------------------------------------------------------------


def _answer(app, email):
    client = client_for(app)
    response = client.post("/password/forgot", data={"email": email})
    page = client.get(response.headers["Location"])
    return response.status_code, response.headers["Location"], page.status_code, page.data


def test_a_known_and_an_unknown_address_get_the_same_answer(app, db):
    user = make_user(Role.DONOR, email="known@example.org")
    inactive = make_user(Role.DONOR, email="gone@example.org")
    inactive.active = False
    db.session.commit()
    known = _answer(app, "Known@Example.org")
    unknown = _answer(app, "nobody@example.org")
    disabled = _answer(app, "gone@example.org")
    assert known == unknown == disabled
    assert known[1] == "/password/forgot/sent" and "如果该地址有账户".encode() in known[3]
    # Only the active account gets a link.
    assert [n.recipient for n in _notes(db, "password_reset")] == [user.email]


def _median_forgot_seconds(client, email, tries=9) -> float:
    times = []
    for _ in range(tries):
        start = time.perf_counter()
        assert client.post("/password/forgot", data={"email": email}).status_code == 302
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_asking_for_a_known_address_takes_as_long_as_for_an_unknown_one(app, db):
    user = make_user(Role.DONOR)
    client = client_for(app)
    _median_forgot_seconds(client, "warm-up@example.org", tries=2)
    known = _median_forgot_seconds(client, user.email)
    unknown = _median_forgot_seconds(client, "nobody@example.org")
    assert 0.5 < known / unknown < 2, (known, unknown)


def test_reset_requests_are_limited_per_account_and_per_address(database_url, tmp_path, db):
    user = make_user(Role.DONOR)
    limited = make_app(
        database_url,
        tmp_path,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        LOGIN_RATE_LIMIT="5 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="3 per 15 minutes",
    )
    # One account named from four addresses: the fourth is refused.
    spread = [_ask_for_reset(limited, user.email, environ_base={"REMOTE_ADDR": f"203.0.113.{n}"}) for n in range(4)]
    assert [r.status_code for r in spread] == [302, 302, 302, 429]
    # One address naming six accounts: the sixth is refused.
    one_address = [
        _ask_for_reset(limited, f"someone{n}@example.org", environ_base={"REMOTE_ADDR": "198.51.100.7"})
        for n in range(6)
    ]
    assert [r.status_code for r in one_address] == [302] * 5 + [429]
    # Requests in the same second make the same link: it is mailed once.
    assert {n.recipient for n in _notes(db, "password_reset")} == {user.email}


# --- following the link --------------------------------------------------------------------------


def test_forgot_password_is_offered_on_the_sign_in_page(client, db):
    assert b'href="/password/forgot"' in client.get("/login").data


def test_the_link_sets_a_new_password_signs_in_here_and_ends_every_other_session(app, db):
    user = make_user(Role.CASEWORKER)
    child_page = f"/staff/children/{make_child(user).id}"
    old_device = _signed_in(app, user, remember=True)
    _ask_for_reset(app, user.email)
    link = _reset_link(db, user.email)
    browser = client_for(app)
    page = browser.get(link)
    assert page.status_code == 200 and b'name="password"' in page.data
    assert browser.post(link, data=_new(NEW, "not-the-same")).status_code == 422
    assert browser.post(link, data=_new("short")).status_code == 422
    response = browser.post(link, data=_new())
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    assert _opens_staff_page(browser, child_page)
    assert not _opens_staff_page(old_device, child_page)
    assert _can_sign_in(app, user.email, NEW) and not _can_sign_in(app, user.email, PASSWORD)
    assert "user.password_reset" in _audit_actions(db, user)
    [note] = _notes(db, "password_changed")
    assert note.recipient == user.email and NEW not in note.body


def test_a_replayed_link_is_dead(app, db):
    user = make_user(Role.DONOR)
    _ask_for_reset(app, user.email)
    link = _reset_link(db, user.email)
    assert client_for(app).post(link, data=_new()).status_code == 302
    for attempt in (lambda c: c.get(link), lambda c: c.post(link, data=_new("the-attackers-password"))):
        response = attempt(client_for(app))
        assert response.status_code == 302 and response.headers["Location"] == "/password/forgot"
    assert _can_sign_in(app, user.email, NEW) and not _can_sign_in(app, user.email, "the-attackers-password")


@pytest.mark.parametrize("what", ["password change", "sign-out", "deactivation"])
def test_a_link_dies_when_the_password_or_the_sessions_change(app, db, what):
    user = make_user(Role.DONOR)
    admin = make_user(Role.ADMIN)
    _ask_for_reset(app, user.email)
    link = _reset_link(db, user.email)
    client = _signed_in(app, user)
    if what == "password change":
        client.post("/account/password", data={"current_password": PASSWORD, **_new("changed-by-owner")})
    elif what == "sign-out":
        client.post("/logout")
    else:
        services.set_active(admin, db.session.get(User, user.id), False)
        db.session.commit()
    response = client_for(app).post(link, data=_new("the-attackers-password"))
    assert response.headers["Location"] == "/password/forgot"
    assert not _can_sign_in(app, user.email, "the-attackers-password")


def test_an_expired_link_is_dead(app, db):
    user = make_user(Role.DONOR)
    _ask_for_reset(app, user.email)
    link = _reset_link(db, user.email)
    minutes = app.config["PASSWORD_RESET_LINK_MINUTES"]
    with time_machine.travel(utcnow() + timedelta(minutes=minutes - 1)):
        assert client_for(app).get(link).status_code == 200
    with time_machine.travel(utcnow() + timedelta(minutes=minutes + 1)):
        response = client_for(app).post(link, data=_new())
        assert response.headers["Location"] == "/password/forgot"
    assert _can_sign_in(app, user.email, PASSWORD)


def _payload(token: str) -> dict:
    """What anyone who sees the link can read: the signed payload, decoded without SECRET_KEY."""
    payload = token.rsplit(".", 2)[0]
    compressed = payload.startswith(".")
    raw = base64_decode(payload.lstrip("."))
    return json.loads(zlib.decompress(raw) if compressed else raw)


def test_a_forged_or_tampered_token_is_dead(app, db):
    user = make_user(Role.DONOR)
    _ask_for_reset(app, user.email)
    token = _reset_link(db, user.email).rsplit("/", 1)[1]
    forged = [
        token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
        # Signed with a key that is not the site's (the old development default, say).
        URLSafeTimedSerializer("dev", salt="password-reset").dumps(_payload(token)),
        # A registration link's signature is no reset link's.
        URLSafeTimedSerializer(app.secret_key, salt="donor-registration").dumps(_payload(token)),
        "not-a-token",
    ]
    for bad in forged:
        response = client_for(app).post(f"/password/reset/{bad}", data=_new("the-attackers-password"))
        assert response.status_code == 302 and response.headers["Location"] == "/password/forgot", bad
    assert _can_sign_in(app, user.email, PASSWORD)


def test_ones_own_link_opens_no_other_account(app, db):
    attacker = make_user(Role.DONOR, email="attacker@example.org")
    victim = make_user(Role.ADMIN, email="victim@example.org")
    _ask_for_reset(app, attacker.email)
    token = _reset_link(db, attacker.email).rsplit("/", 1)[1]
    data = _payload(token)
    # The attacker's token pointed at the victim: the signature no longer matches.
    payload, timestamp, signature = token.rsplit(".", 2)
    retargeted = URLSafeTimedSerializer("guess", salt="password-reset").dumps({**data, "u": victim.id})
    swapped = ".".join([retargeted.rsplit(".", 2)[0], timestamp, signature])
    # And even a correctly signed token for the victim's id carrying the attacker's fingerprint is refused.
    with app.test_request_context():
        signed = URLSafeTimedSerializer(app.secret_key, salt="password-reset").dumps({**data, "u": victim.id})
    for bad in (swapped, signed):
        response = client_for(app).post(f"/password/reset/{bad}", data=_new("the-attackers-password"))
        assert response.headers["Location"] == "/password/forgot"
    assert not _can_sign_in(app, victim.email, "the-attackers-password")
    assert _can_sign_in(app, victim.email, PASSWORD)
    # The attacker's own link still sets only the attacker's password.
    assert client_for(app).post(f"/password/reset/{token}", data=_new()).status_code == 302
    assert _can_sign_in(app, attacker.email, NEW) and _can_sign_in(app, victim.email, PASSWORD)


def test_the_reset_link_carries_no_secret(app, db):
    user = make_user(Role.DONOR)
    _ask_for_reset(app, user.email)
    token = _reset_link(db, user.email).rsplit("/", 1)[1]
    data = _payload(token)
    assert set(data) == {"u", "f"} and data["u"] == user.id
    db.session.refresh(user)
    text = json.dumps(data)
    assert PASSWORD not in text and user.email not in text
    # The fingerprint is keyed: no part of the hash (salt or digest) is in the link.
    for part in re.split(r"[$:]", user.password_hash):
        assert len(part) < 6 or part not in text


def test_a_link_used_twice_at_once_sets_one_password(app, db, live_server):
    user = make_user(Role.DONOR)
    _ask_for_reset(app, user.email)
    link = _reset_link(db, user.email)
    db.session.commit()

    def follow(password):
        return requests.post(live_server.url + link, data=_new(password), allow_redirects=False, timeout=30)

    passwords = [f"parallel-password-{n}" for n in range(4)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(follow, passwords))
    assert sorted(a.headers["Location"] for a in answers) == ["/me/claims"] + ["/password/forgot"] * 3
    winners = [p for p, a in zip(passwords, answers, strict=True) if a.headers["Location"] == "/me/claims"]
    assert [p for p in passwords if _can_sign_in(app, user.email, p)] == winners
    assert _audit_actions(db, user).count("user.password_reset") == 1


def test_password_pages_are_not_stored(app, db):
    user = make_user(Role.DONOR)
    _ask_for_reset(app, user.email)
    link = _reset_link(db, user.email)
    client = client_for(app)
    for url in ("/password/forgot", "/password/forgot/sent", link):
        response = client.get(url)
        assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"], url
    signed_in = _signed_in(app, user)
    assert "no-store" in signed_in.get("/account/password").headers["Cache-Control"]


def test_the_reset_token_is_masked_in_the_access_log_and_in_mail_written_to_the_log(app, db, caplog):
    user = make_user(Role.DONOR)
    _ask_for_reset(app, user.email)
    link = _reset_link(db, user.email)
    token = link.rsplit("/", 1)[1]
    app.config["MAIL_SERVER"] = ""
    caplog.set_level("INFO")
    assert client_for(app).get(link).status_code == 200
    assert deliver_pending() == 1
    logged = " ".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "/password/reset/…" in logged and token not in logged and user.email not in logged


# --- CSRF ----------------------------------------------------------------------------------------


def _csrf_token(page: bytes) -> str:
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()


@pytest.fixture
def csrf_app(database_url, tmp_path, app):
    second = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    yield second
    with second.app_context():
        from core.extensions import db as _db

        _db.engine.dispose()


def test_every_password_form_needs_its_csrf_token(csrf_app, db):
    user = make_user(Role.DONOR)
    client = client_for(csrf_app)
    token = _csrf_token(client.get("/login").data)
    assert (
        client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    )
    # A page elsewhere posting on the signed-in user's behalf changes nothing.
    forged_change = client.post("/account/password", data={"current_password": PASSWORD, **_new()})
    assert forged_change.status_code == 400
    db.session.refresh(user)
    assert user.check_password(PASSWORD) and not user.check_password(NEW)
    assert client.post("/password/forgot", data={"email": user.email}).status_code == 400
    assert _notes(db, "password_reset") == []
    token = _csrf_token(client.get("/password/forgot").data)
    assert client.post("/password/forgot", data={"email": user.email, "csrf_token": token}).status_code == 302
    link = _reset_link(db, user.email)
    assert client.post(link, data=_new()).status_code == 400
    db.session.refresh(user)
    assert user.check_password(PASSWORD)
    token = _csrf_token(client.get(link).data)
    assert client.post(link, data={**_new(), "csrf_token": token}).status_code == 302
    db.session.refresh(user)
    assert user.check_password(NEW)
