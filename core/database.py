"""Engine tuning: SQLite that never answers "database is locked" to a writer.

SQLite takes its write lock lazily: a transaction that reads first and writes
later cannot wait for the lock, it fails at once. Requests that may write
therefore open their transaction with BEGIN IMMEDIATE, which queues on the busy
timeout instead; safe requests (GET, HEAD) read in WAL mode without blocking.
"""

import contextvars
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

#: Whether the next SQLite transaction should take the write lock up front.
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)

BUSY_TIMEOUT_SECONDS = 30


def set_write_intent(value: bool) -> None:
    _write_intent.set(value)


@contextmanager
def read_only():
    token = _write_intent.set(False)
    try:
        yield
    finally:
        _write_intent.reset(token)


def engine_options(uri: str) -> dict:
    # Bound values (a child's name, a phone) never appear in SQLAlchemy's error messages.
    options: dict = {"hide_parameters": True}
    if not uri.startswith("sqlite"):
        return {**options, "pool_pre_ping": True}
    return {**options, "connect_args": {"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False}}


def tune_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")
