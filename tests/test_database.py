"""PostgreSQL connections: pinged only after sitting idle and replaced when the ping fails;
the list's own idle connections replaced when the server dropped them."""

import os
import time

import pytest
from sqlalchemy import create_engine, text

from core.database import ping_after_idle
from tests.conftest import POSTGRES_URL, _sqlalchemy_url

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="connection pinging is PostgreSQL's")


@pytest.fixture
def engine():
    engine = create_engine(_sqlalchemy_url(POSTGRES_URL), pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _count_pings(engine, monkeypatch) -> list:
    pings = []
    real = engine.dialect.do_ping

    def counting(dbapi_connection):
        pings.append(time.monotonic())
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return pings


def test_a_connection_killed_while_idle_is_replaced_before_anyone_uses_it(engine, monkeypatch):
    ping_after_idle(engine, idle_seconds=0.2)
    pings = _count_pings(engine, monkeypatch)
    first = _backend_pid(engine)
    killer = create_engine(_sqlalchemy_url(POSTGRES_URL))
    with killer.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
    killer.dispose()
    time.sleep(0.3)
    # The pooled connection is dead; the request that checks it out still gets a working one.
    second = _backend_pid(engine)
    assert second != first and len(pings) == 1


def test_a_connection_in_steady_use_is_not_pinged(engine, monkeypatch):
    ping_after_idle(engine, idle_seconds=30)
    pings = _count_pings(engine, monkeypatch)
    pids = {_backend_pid(engine) for _ in range(20)}
    assert len(pids) == 1 and pings == []


@pytest.fixture
def uncached(app):
    # Every request reads the list, as right after a claim.
    app.config["RESPONSE_CACHE"] = False
    yield
    app.config["RESPONSE_CACHE"] = True


def _idle_list_connections(app):
    from core import database
    from core.extensions import db

    with app.app_context():
        reader = database.autocommit_engine(db.engine)
        idle = database._idle_connections.get((os.getpid(), database.database_key(reader)))
        return list(idle.idle) if idle else []


def test_the_list_reads_on_again_after_the_server_dropped_its_idle_connections(client, db, app, uncached):
    from tests.factories import make_wish

    make_wish(title="蓝色书包")
    assert "蓝色书包" in client.get("/").text
    dropped = [reader.connection.dbapi_connection.info.backend_pid for reader in _idle_list_connections(app)]
    assert dropped, "the list's read keeps its connection for the next request"
    # As a server restart would: every idle connection of the list is cut.
    for pid in dropped:
        db.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    db.session.commit()
    page = client.get("/")
    assert page.status_code == 200 and "蓝色书包" in page.text
    now = [reader.connection.dbapi_connection.info.backend_pid for reader in _idle_list_connections(app)]
    assert now and not set(now) & set(dropped)


def test_the_list_keeps_at_most_a_few_connections_idle(client, db, app, uncached):
    from core import database
    from tests.factories import make_wish

    make_wish()
    client.get("/")
    with app.app_context():
        idle = database._idle_connections[(os.getpid(), database.database_key(database.autocommit_engine(db.engine)))]
        taken = [idle.take() for _ in range(database._IdleConnections.KEEP + 3)]
        for reader in taken:
            idle.give_back(reader)
        assert len(idle.idle) == database._IdleConnections.KEEP
        closed = [reader for reader in taken if reader.connection.dbapi_connection is None]
        assert len(closed) == 3
