"""Sessions are signed with a key nobody else knows: no fixed default, and production refuses an unsafe one."""

import os
from types import SimpleNamespace

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from core import secret_key
from core.config import Config
from core.models import Role
from tests.conftest import make_app
from tests.factories import make_child, make_user

OLD_DEFAULT = "dev-only-secret-change-me"


def _forged_session(key: str, user_id: int) -> str:
    """A session cookie as someone holding `key` would sign it for `user_id`."""
    signer = Flask("forger")
    signer.secret_key = key
    return (
        SecureCookieSessionInterface().get_signing_serializer(signer).dumps({"_user_id": str(user_id), "_fresh": True})
    )


def _fake_app(tmp_path, **config):
    return SimpleNamespace(config={"APP_ENV": "development", **config}, instance_path=str(tmp_path / "instance"))


def test_a_cookie_forged_with_the_old_default_key_opens_nothing(database_url, tmp_path, db, monkeypatch):
    keys = tmp_path / "keys"
    monkeypatch.setattr(secret_key, "_instance_key", lambda _folder, real=secret_key._instance_key: real(keys))
    if os.environ.get("SECRET_KEY"):
        pytest.skip("SECRET_KEY is set in this environment")
    # What a site started without SECRET_KEY in its environment signs with.
    site = make_app(database_url, tmp_path, SECRET_KEY=Config.SECRET_KEY)
    assert site.config["SECRET_KEY"] not in ("", OLD_DEFAULT) and len(site.config["SECRET_KEY"]) >= 32
    admin = make_user(Role.ADMIN)
    child = make_child()
    client = site.test_client()
    client.set_cookie("session", _forged_session(OLD_DEFAULT, admin.id))
    answer = client.get(f"/staff/children/{child.id}")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert child.legal_name not in answer.get_data(as_text=True)


def test_production_refuses_to_start_without_a_safe_key(database_url, tmp_path):
    for key in ("", OLD_DEFAULT, "changeme", "short-but-not-published"):
        with pytest.raises(secret_key.InsecureSecretKey) as refused:
            make_app(database_url, tmp_path, SECRET_KEY=key, APP_ENV="production")
        assert "SECRET_KEY" in str(refused.value) and "production" in str(refused.value)
    good = "k" * 16 + "Zq81-vX_3mPl0aRt7uWy"
    assert make_app(database_url, tmp_path, SECRET_KEY=good, APP_ENV="production").secret_key == good


def test_development_generates_one_key_and_keeps_it(tmp_path, caplog):
    first, second = _fake_app(tmp_path, SECRET_KEY=""), _fake_app(tmp_path, SECRET_KEY="")
    secret_key.configure_secret_key(first)
    secret_key.configure_secret_key(second)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    stored = tmp_path / "instance" / secret_key.FILE_NAME
    assert stored.read_text() == first.config["SECRET_KEY"] and stored.stat().st_mode & 0o077 == 0
    assert "SECRET_KEY is not set" in caplog.text
    assert list((tmp_path / "instance").iterdir()) == [stored]


def test_development_warns_about_a_published_key(tmp_path, caplog):
    app = _fake_app(tmp_path, SECRET_KEY=OLD_DEFAULT)
    secret_key.configure_secret_key(app)
    assert app.config["SECRET_KEY"] == OLD_DEFAULT and "published placeholder" in caplog.text
