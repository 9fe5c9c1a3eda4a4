"""Signing up tells nobody whether an address has an account, and creates one only for the mailbox's owner."""

import re

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
        "password": "attackers-password",
        "confirm": "attackers-password",
    }
    data.update(overrides)
    return data


def _link(note: Notification) -> str:
    return re.search(r"http://localhost(/register/confirm/\S+)", note.body).group(1)


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


def test_a_taken_address_cannot_be_signed_into_with_the_password_given_at_registration(app, db):
    make_user(Role.CASEWORKER, email="taken@example.org")
    client = client_for(app)
    client.post("/register", data=_form("TAKEN@example.org"))
    assert client.get("/me/claims").status_code == 302
    response = client.post("/login", data={"email": "taken@example.org", "password": "attackers-password"})
    assert response.status_code == 422


def test_the_emailed_link_creates_the_account_once_and_signs_in(app, db):
    client = client_for(app)
    client.post("/register", data=_form("new@example.org", password=PASSWORD, confirm=PASSWORD))
    assert db.session.query(User).count() == 0
    # Signing in before the link is followed fails like any wrong password.
    assert client.post("/login", data={"email": "new@example.org", "password": PASSWORD}).status_code == 422
    link = _link(db.session.query(Notification).one())
    # Opening the link (as a mail scanner would) creates nothing; the button does.
    assert client.get(link).status_code == 200
    assert db.session.query(User).count() == 0
    response = client.post(link)
    assert response.headers["Location"] == "/me/claims"
    assert client.get("/me/claims").status_code == 200
    profile = db.session.query(DonorProfile).one()
    assert profile.user.email == "new@example.org" and profile.user.has_role(Role.DONOR)
    # A second use of the link signs nobody in.
    other = client_for(app)
    assert other.post(link).headers["Location"] == "/login"
    assert other.get("/me/claims").status_code == 302
    login(client_for(app), profile.user)


def test_a_tampered_or_expired_link_creates_nothing(app, db, tmp_path):
    client = client_for(app)
    client.post("/register", data=_form("new@example.org"))
    link = _link(db.session.query(Notification).one())
    assert client.post(link[:-3] + "abc").headers["Location"] == "/register"
    expired = make_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, REGISTRATION_LINK_HOURS=-1)
    assert client_for(expired).post(link).headers["Location"] == "/register"
    assert db.session.query(User).count() == 0


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
