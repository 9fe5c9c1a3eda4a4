"""Engine tuning: SQLite that never answers "database is locked" to a writer, and
PostgreSQL connections checked only when they may have gone stale.

SQLite takes its write lock lazily: a transaction that reads first and writes
later cannot wait for the lock, it fails at once. Requests that may write
therefore open their transaction with BEGIN IMMEDIATE, which queues on the busy
timeout instead; safe requests (GET, HEAD) read in WAL mode without blocking.

A PostgreSQL connection that comes back from the pool after sitting unused for a
while (the server may have restarted, a proxy may have dropped it) is pinged first
and replaced if the ping fails. A connection in steady use is not: a ping on every
checkout (`pool_pre_ping`) costs every request a round trip. What that leaves
uncovered is a server restart in the middle of steady traffic: there a request
fails (Stripe delivers its event again) and SQLAlchemy, seeing the disconnect,
replaces every connection of the pool.
"""

import contextvars
import os
import threading
import time
import weakref
from contextlib import contextmanager
from functools import lru_cache
from typing import NamedTuple

from flask import request
from sqlalchemy import create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError

#: Whether the next SQLite transaction should take the write lock up front.
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)

BUSY_TIMEOUT_SECONDS = 30
#: A pooled PostgreSQL connection unused for longer than this is pinged before use.
IDLE_PING_SECONDS = 30


def set_write_intent(value: bool) -> None:
    _write_intent.set(value)


def declare_write_intent() -> None:
    """Before each request: only a safe method outside the staff pages reads without the write lock.

    Staff pages write on GET too (reading a child's file is audited).
    """
    safe = request.method in ("GET", "HEAD", "OPTIONS") and not request.path.startswith("/staff/")
    set_write_intent(not safe)


@contextmanager
def read_only():
    token = _write_intent.set(False)
    try:
        yield
    finally:
        _write_intent.reset(token)


@contextmanager
def short_read(engine: Engine):
    """A connection of its own for a read that decides whether the request goes on to write.

    The request's session is left untouched, so its own transaction still begins with
    the write lock on SQLite (BEGIN IMMEDIATE) if the request goes on. The read itself
    takes no lock: on SQLite it runs under a plain BEGIN, and on PostgreSQL on a connection
    of the autocommit pool (`autocommit_engine`), one round trip instead of three (BEGIN,
    the read, ROLLBACK).
    """
    if engine.dialect.name == "postgresql":
        engine = autocommit_engine(engine)
    with read_only(), engine.connect() as connection:
        yield connection


_autocommit_engines: dict[tuple, Engine] = {}
_registry_lock = threading.Lock()


def autocommit_engine(engine: Engine) -> Engine:
    """PostgreSQL: a small pool of this process's own whose connections stay in autocommit,
    for reads of one statement (a claim attempt's status read, the public list's version).

    Its connections never switch isolation level and have no transaction to roll back when
    they go back to the pool, so a read costs one round trip and little else.
    """
    return per_process(
        _autocommit_engines,
        engine,
        lambda: _tuned(
            create_engine(
                engine.url,
                isolation_level="AUTOCOMMIT",
                pool_size=4,
                max_overflow=4,
                # In autocommit there is no transaction to roll back when a connection comes back.
                pool_reset_on_return=None,
                **engine_options(str(engine.url)),
            )
        ),
    )


def _tuned(engine: Engine) -> Engine:
    tune_engine(engine)
    return engine


def per_process(registry: dict, engine: Engine, make):
    """One object per (process, database): gunicorn forks workers, and threads and sockets do not survive a fork."""
    key = (os.getpid(), database_key(engine))
    found = registry.get(key)
    if found is None:
        with _registry_lock:
            found = registry.get(key)
            if found is None:
                found = registry[key] = make()
    return found


#: Each engine's database as a string: hashing a SQLAlchemy URL renders it anew every time.
_database_keys: "weakref.WeakKeyDictionary[Engine, str]" = weakref.WeakKeyDictionary()


def database_key(engine: Engine) -> str:
    """The engine's database as a string, to key what is kept per database: rendered once per engine."""
    found = _database_keys.get(engine)
    if found is None:
        found = _database_keys[engine] = engine.url.render_as_string(hide_password=False)
    return found


def engine_options(uri: str) -> dict:
    # Bound values (a child's name, a phone) never appear in SQLAlchemy's error messages.
    options: dict = {"hide_parameters": True}
    if not uri.startswith("sqlite"):
        return options
    return {**options, "connect_args": {"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False}}


def tune_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        ping_after_idle(engine)
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


def ping_after_idle(engine: Engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    """Ping a pooled connection that sat unused for `idle_seconds`; the pool replaces it if that fails."""

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection, record):
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection, record, _proxy):
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error:
            alive = False
        if not alive:
            # The pool discards this connection and checks out a fresh one.
            raise DisconnectionError("a pooled connection went stale while idle")


def driver_rows(engine: Engine, session, statement, values: dict) -> list[tuple]:
    """The rows of one read-only SELECT on a hot public page, as plain tuples.

    PostgreSQL: through the driver itself, on an idle connection of this process's own, in
    autocommit (`_IdleConnections`: one statement reads one snapshot anyway), the statement
    compiled once (`_driver_sql`). SQLAlchemy's execution layer (cache key, execution context,
    result) cost the public list more than its query did: 0.36 ms of CPU through
    `Connection.execute` against 0.15 ms through the driver. Only for columns that the driver
    returns as SQLAlchemy would (strings, integers, dates), and for a statement kept and reused
    (its compiled SQL is remembered by the statement object). A driver error is raised as
    SQLAlchemy's `DBAPIError`, and the connection it came from is closed; a connection the
    server dropped while it was idle (a restart) is replaced once, with every other idle one.

    SQLite: through the session's connection, in process. `engine` is the session's.
    """
    if engine.dialect.name != "postgresql":
        return list(session.connection().execute(statement, values))
    engine = autocommit_engine(engine)
    sql = _driver_sql(engine.dialect, statement)
    idle = per_process(_idle_connections, engine, lambda: _IdleConnections(engine))
    for attempt in (1, 2):
        reader = idle.take()
        try:
            rows = reader.cursor.execute(sql, values).fetchall()
        except engine.dialect.loaded_dbapi.Error as error:
            dropped = reader.connection.dbapi_connection.broken
            reader.close()
            if dropped and attempt == 1:
                idle.close_all()
                continue
            raise DBAPIError.instance(
                sql, None, error, engine.dialect.loaded_dbapi.Error, hide_parameters=True, dialect=engine.dialect
            ) from error
        idle.give_back(reader)
        return rows
    raise AssertionError("unreachable")  # pragma: no cover


class _IdleConnections:
    """Driver connections for `driver_rows`, made by the autocommit engine and then kept here.

    Taking one is a `list.pop` and giving it back a `list.append`, both atomic, so no lock is
    taken: the pool's checkout and return (its events, the connection record, the reset) cost
    the list page about 45 µs of CPU of its 600 in process. Each keeps its cursor (`_Reader`). At most `KEEP` wait idle; a thread
    that finds none makes one, and one given back beyond `KEEP` is closed.
    """

    KEEP = 8

    def __init__(self, engine: Engine):
        self.engine = engine
        self.idle: list = []

    def take(self) -> "_Reader":
        try:
            return self.idle.pop()
        except IndexError:
            connection = self.engine.raw_connection()
            # Out of the pool for good: this stack keeps it, and closing it closes the connection.
            connection.detach()
            return _Reader(connection, connection.dbapi_connection.cursor())

    def give_back(self, reader: "_Reader") -> None:
        if len(self.idle) < self.KEEP:
            self.idle.append(reader)
        else:
            reader.close()

    def close_all(self) -> None:
        while True:
            try:
                reader = self.idle.pop()
            except IndexError:
                return
            reader.close()


class _Reader(NamedTuple):
    """A connection of `_IdleConnections` and its cursor, used again for every read: a cursor
    made per read cost about 10 µs more."""

    connection: object
    cursor: object

    def close(self) -> None:
        self.connection.close()


_idle_connections: dict[tuple, _IdleConnections] = {}


@lru_cache(maxsize=512)
def _driver_sql(dialect, statement) -> str:
    return statement.compile(dialect=dialect).string


def insert_for(session_or_connection):
    """The dialect's INSERT construct, which knows ON CONFLICT: PostgreSQL's or SQLite's."""
    bind = session_or_connection.get_bind() if hasattr(session_or_connection, "get_bind") else session_or_connection
    return pg_insert if bind.dialect.name == "postgresql" else sqlite_insert


def serialise_on(session, *names: str) -> None:
    """Hold transaction-scoped locks on these names until the transaction ends.

    Two transactions that count rows and then insert one (a cap on a donor's claims) must not
    both count before either inserts. On PostgreSQL each name takes an advisory lock, released
    at COMMIT or ROLLBACK, taken in sorted order so that two callers never wait on each other.
    SQLite needs none: a writing transaction already holds the database's one write lock
    (BEGIN IMMEDIATE, above).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in sorted(set(names)):
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name})
