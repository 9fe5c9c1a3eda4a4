"""Signing up tells nobody whether an address has an account, and creates one only for the mailbox's owner."""

import json
import re
import statistics
import time
import zlib

from itsdangerous.encoding import base64_decode

from core.models import Role, User
from core.outbox import Notification
from donors.models import DonorProfile
from tests.conftest import make_app
from tests.factories import PASSWORD, login, make_user
from tests.helpers import client_for, fast_passwords  # noqa: F401 (an autouse fixture)


def _form(email, **overrides):
    data = {
        "display_name": "周先生",
        "email": email,
        "kind": "individual",
        "public_name": "",
    }
    data.update(overrides)
    return data


def _link(note: Notification) -> str:
    return re.search(r"http://localhost(/register/confirm/\S+)", note.body).group(1)


def _choose(password=PASSWORD, confirm=None) -> dict:
    return {"password": password, "confirm": confirm or password}


def _answer_and_page(client, email):
    response = client.post("/register", data=_form(email))
    page = client.get(response.headers["Location"])
    return response.status_code, response.headers["Location"], page.status_code, page.data


def test_registering_a_taken_address_answers_exactly_as_a_free_one(app, db):
    owner = make_user(Role.CASEWORKER, email="taken@example.org")
    hash_before = owner.password_hash
    taken = _answer_and_page(client_for(app), "taken@example.org")
    free = _answer_and_page(client_for(app), "free@example.org")
    assert taken == free
    assert taken[1] == "/register/sent"
    assert "请查收邮件".encode() in taken[3]
    # Nobody is signed in, and the owner's account is unchanged.
    db.session.expire_all()
    owner = db.session.get(User, owner.id)
    assert owner.password_hash == hash_before and owner.display_name != "周先生"
    assert db.session.query(User).count() == 1
    # The owner is told; the new address gets the link that makes its account.
    notes = {n.recipient: n for n in db.session.query(Notification)}
    assert set(notes) == {"taken@example.org", "free@example.org"}
    assert "/register/confirm/" not in notes["taken@example.org"].body
    assert "/register/confirm/" in notes["free@example.org"].body


def test_a_link_made_while_the_address_was_free_sets_no_password_once_the_account_exists(app, db):
    client = client_for(app)
    client.post("/register", data=_form("late@example.org"))
    link = _link(db.session.query(Notification).one())
    owner = make_user(Role.CASEWORKER, email="late@example.org")
    hash_before = owner.password_hash
    response = client.post(link, data=_choose("attackers-password"))
    assert response.headers["Location"] == "/login"
    assert client.get("/me/claims").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, owner.id).password_hash == hash_before
    assert (
        client.post("/login", data={"email": "late@example.org", "password": "attackers-password"}).status_code == 422
    )


def test_the_emailed_link_asks_for_the_password_creates_the_account_once_and_signs_in(app, db):
    client = client_for(app)
    client.post("/register", data=_form("new@example.org"))
    assert db.session.query(User).count() == 0
    link = _link(db.session.query(Notification).one())
    # Opening the link (as a mail scanner would) creates nothing; it shows the password form.
    page = client.get(link)
    assert page.status_code == 200 and b'name="password"' in page.data and b'name="confirm"' in page.data
    assert "no-store" in page.headers["Cache-Control"]
    assert db.session.query(User).count() == 0
    # Two different passwords create nothing.
    assert client.post(link, data=_choose(PASSWORD, "something-else")).status_code == 422
    assert db.session.query(User).count() == 0
    response = client.post(link, data=_choose())
    assert response.headers["Location"] == "/me/claims"
    assert client.get("/me/claims").status_code == 200
    profile = db.session.query(DonorProfile).one()
    assert profile.user.email == "new@example.org" and profile.user.has_role(Role.DONOR)
    # A second use of the link signs nobody in and sets no password.
    other = client_for(app)
    assert other.post(link, data=_choose("a-second-password")).headers["Location"] == "/login"
    assert other.get("/me/claims").status_code == 302
    assert db.session.query(User).count() == 1
    assert other.post("/login", data={"email": "new@example.org", "password": "a-second-password"}).status_code == 422
    login(client_for(app), profile.user)


def _decode_without_the_key(token: str) -> str:
    """What anyone who sees the link can read: the signed payload, decoded without SECRET_KEY."""
    payload = token.rsplit(".", 2)[0]
    compressed = payload.startswith(".")
    raw = base64_decode(payload.lstrip("."))
    return (zlib.decompress(raw) if compressed else raw).decode()


def test_the_registration_link_carries_no_password_and_no_hash(app, db):
    client = client_for(app)
    client.post("/register", data={**_form("new@example.org"), "password": PASSWORD, "confirm": PASSWORD})
    token = _link(db.session.query(Notification).one()).rsplit("/", 1)[1]
    readable = json.loads(_decode_without_the_key(token))
    assert set(readable) == {"e", "n", "k", "p"}
    assert readable["e"] == "new@example.org"
    text = json.dumps(readable)
    for secret in (PASSWORD, "pbkdf2", "scrypt", "$"):
        assert secret not in text
    # The password chosen on the link's page is kept only as the account's hash.
    client.post(f"/register/confirm/{token}", data=_choose())
    user = db.session.query(User).one()
    assert user.check_password(PASSWORD)
    assert all(PASSWORD not in note.body for note in db.session.query(Notification))


def test_a_tampered_or_expired_link_creates_nothing(app, db, tmp_path):
    client = client_for(app)
    client.post("/register", data=_form("new@example.org"))
    link = _link(db.session.query(Notification).one())
    assert client.get(link[:-3] + "abc").headers["Location"] == "/register"
    assert client.post(link[:-3] + "abc", data=_choose()).headers["Location"] == "/register"
    expired = make_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, REGISTRATION_LINK_HOURS=-1)
    assert client_for(expired).get(link).headers["Location"] == "/register"
    assert client_for(expired).post(link, data=_choose()).headers["Location"] == "/register"
    assert db.session.query(User).count() == 0


def test_a_link_followed_twice_at_once_creates_one_account(app, db, live_server):
    import concurrent.futures

    import requests

    client_for(app).post("/register", data=_form("twice@example.org"))
    link = _link(db.session.query(Notification).one())
    db.session.commit()

    def follow(password):
        return requests.post(live_server.url + link, data=_choose(password), allow_redirects=False, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(follow, [f"password-number-{n}" for n in range(4)]))
    assert sorted(a.headers["Location"] for a in answers).count("/me/claims") == 1
    assert all(a.status_code == 302 for a in answers)
    db.session.rollback()
    assert db.session.query(User).count() == 1


def _median_register_seconds(client, email, tries=9) -> float:
    times = []
    for _ in range(tries):
        start = time.perf_counter()
        assert client.post("/register", data=_form(email)).status_code == 302
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_registering_a_taken_address_takes_as_long_as_a_free_one(app, db):
    make_user(Role.DONOR, email="taken@example.org")
    client = client_for(app)
    _median_register_seconds(client, "warm-up@example.org", tries=2)
    taken = _median_register_seconds(client, "taken@example.org")
    free = _median_register_seconds(client, "free@example.org")
    assert 0.5 < taken / free < 2, (taken, free)


def test_registrations_naming_one_address_are_limited_from_however_many_addresses(database_url, tmp_path, db):
    app = make_app(
        database_url,
        tmp_path,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        LOGIN_RATE_LIMIT="100 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="3 per 15 minutes",
    )
    client = client_for(app)
    statuses = [
        client.post(
            "/register", data=_form("victim@example.org"), environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}
        ).status_code
        for n in range(4)
    ]
    assert statuses == [302, 302, 302, 429]


def test_the_registration_link_is_masked_in_mail_written_to_the_log(app, db, caplog):
    import logging

    from core.outbox import deliver_pending

    client_for(app).post("/register", data=_form("new@example.org"))
    token = _link(db.session.query(Notification).one()).rsplit("/", 1)[1]
    with caplog.at_level(logging.INFO):
        assert deliver_pending() == 1
    body = next(r.body for r in caplog.records if r.getMessage() == "mail")
    assert "/register/confirm/" in body and token not in body


def test_the_access_log_never_carries_a_registration_link(app, db, caplog):
    client = client_for(app)
    client.post("/register", data=_form("free@example.org"))
    link = _link(db.session.query(Notification).one())
    token = link.rsplit("/", 1)[1]
    caplog.set_level("INFO")
    assert client.get(link).status_code == 200
    logged = " ".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "/register/confirm/…" in logged and token not in logged
