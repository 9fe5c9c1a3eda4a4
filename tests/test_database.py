"""PostgreSQL connections: pinged only after sitting idle, and replaced when the ping fails."""

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
