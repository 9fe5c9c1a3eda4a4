"""Fixtures: one migrated database per run (SQLite file, or TEST_DATABASE_URL), emptied after each test."""

import os
import threading
from pathlib import Path

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from app import create_app
from core import cache
from core.database import set_write_intent
from core.extensions import db as _db

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if POSTGRES_URL:
        url = _sqlalchemy_url(POSTGRES_URL)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


class IsolatedClient(FlaskClient):
    """Each request starts with an empty `g`, as it would in its own process.

    The test's app context stays pushed (the test and its requests share one database
    session), so without this Flask-Login's user and Babel's locale would carry over
    from one request to the next.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            for key in list(vars(g)):
                delattr(g, key)
        return super().open(*args, **kwargs)


def make_app(database_url: str, tmp_path: Path, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PAYMENT_SIMULATOR": True,
        "PUBLIC_BASE_URL": "http://localhost",
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "LOG_JSON": True,
        "SERVER_NAME": None,
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade

    app = make_app(database_url, tmp_path_factory.mktemp("app"))
    with app.app_context():
        upgrade()
    return app


def _empty_tables() -> None:
    tables = list(reversed(_db.metadata.sorted_tables))
    if _db.engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in tables)
        _db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            _db.session.execute(table.delete())
    _db.session.commit()
    # Emptied tables do not announce themselves: forget every page rendered from them.
    cache.store.clear()


@pytest.fixture(autouse=True)
def db(app):
    """An app context and an empty database for every test."""
    # The test's own reads must not hold SQLite's write lock while a server thread writes.
    set_write_intent(False)
    with app.app_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        _empty_tables()
        _db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def request_ctx(app):
    with app.test_request_context(base_url="http://localhost"):
        yield


class LiveServer:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.server.daemon_threads = True
        # Room for a storm of simultaneous connections.
        self.server.socket.listen(512)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server
