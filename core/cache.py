"""A response cache for anonymous GETs of the public wish lists that is never stale.

Every transaction that changes what a public list shows also changes one number, the
public catalogue version, before it commits. A cached body is stored with the version it
was rendered at and is served only while the database still holds that version, so the
first request after a claim, a publication or a release renders afresh. On SQLite each
request reads that number (one primary-key SELECT, in process). On PostgreSQL the bump also
sends a NOTIFY, which PostgreSQL delivers only when the transaction commits; a listener
thread in every worker keeps the process's copy current, so a cached answer costs no round
trip. The worker that made a change applies the new version at its own commit; another
worker learns it as soon as the notification arrives, on one machine well under a
millisecond after the commit. While a listener is not connected, its worker reads the
number per request as on SQLite.

The version is read before the page's own queries, so a page is never filed under a
version newer than its data. Each worker process keeps its own small LRU store. Responses
for signed-in visitors, requests with pending flash messages, requests that set cookies
(`?lang=`) and anything but a plain 200 are neither served from nor stored in the cache.
Cached responses carry a strong ETag (a digest of the body) and answer If-None-Match
with 304.
"""

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from functools import wraps

from flask import current_app, request, session
from flask_babel import get_babel
from sqlalchemy import BigInteger, Column, Integer, Table, event, text
from sqlalchemy.orm import Session

from core.auth import may_be_signed_in
from core.clock import local_today
from core.database import autocommit_engine, database_key, per_process
from core.extensions import db

logger = logging.getLogger(__name__)

#: One row (id = 1). A row created anew starts from the clock in microseconds, so a
#: database that is emptied and filled again never repeats a version seen before.
public_catalogue = Table(
    "public_catalogue",
    db.metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False),
)

_READ = "SELECT version FROM public_catalogue WHERE id = 1"
_BUMP = text(
    "INSERT INTO public_catalogue (id, version) VALUES (1, :start) "
    "ON CONFLICT (id) DO UPDATE SET version = public_catalogue.version + 1 RETURNING version"
)
#: PostgreSQL delivers a NOTIFY only when its transaction commits, and to every listener.
_CHANNEL = "public_catalogue"
#: PostgreSQL: the bump and its notification in one statement, one round trip less per write.
_BUMP_AND_NOTIFY = text(
    "WITH bumped AS ("
    "INSERT INTO public_catalogue (id, version) VALUES (1, :start) "
    "ON CONFLICT (id) DO UPDATE SET version = public_catalogue.version + 1 RETURNING version"
    ") SELECT version, pg_notify('public_catalogue', CAST(version AS text)) FROM bumped"
)
_CHANGED = "public_catalogue_changed"
_NEW_VERSION = "public_catalogue_new_version"


# --- the version ------------------------------------------------------------------------------


def catalogue_changed(session: Session | None = None) -> None:
    """Say that the current transaction changes the public lists; the bump happens at commit."""
    (session or db.session).info[_CHANGED] = True


def current_version() -> int | None:
    """The committed version.

    PostgreSQL: this process's copy, kept current by a listener thread, so a cached answer
    costs no round trip; while the listener is not connected, a read as on SQLite.
    SQLite: one SELECT by primary key, outside the request's ORM session.
    """
    if db.engine.dialect.name == "postgresql":
        listener = _listener(db.engine)
        if listener.ready:
            return listener.version
    engine = _reader()
    try:
        return _read(engine)
    except engine.dialect.loaded_dbapi.Error:
        if engine is db.engine:
            raise
        # The server dropped the reader's connections (a restart, a failover): start afresh once.
        engine.dispose()
        return _read(engine)


def _read(engine) -> int | None:
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(_READ)
        row = cursor.fetchone()
        cursor.close()
    except engine.dialect.loaded_dbapi.Error:
        connection.invalidate()
        raise
    finally:
        connection.close()
    return row[0] if row else None


def _reader():
    """The engine the version is read with.

    SQLite: the app's own engine, whose connections already run without driver-managed
    transactions. PostgreSQL: the process's autocommit pool (core.database.autocommit_engine),
    so that a read is one round trip, without BEGIN and ROLLBACK.
    """
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return engine
    return autocommit_engine(engine)


class _Listener:
    """Follows the version through LISTEN/NOTIFY on a connection of its own."""

    def __init__(self, url: str):
        self.url = url
        self.version: int | None = None
        self.ready = False
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="catalogue-listener", daemon=True).start()

    def saw(self, version: int) -> None:
        with self._lock:
            if self.version is None or version > self.version:
                self.version = version

    def _run(self) -> None:
        import psycopg

        while True:
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    # Listen first, then read: a change committed in between arrives as a notification.
                    conn.execute(f"LISTEN {_CHANNEL}")
                    row = conn.execute(_READ).fetchone()
                    if row:
                        self.saw(row[0])
                    self.ready = True
                    for note in conn.notifies():
                        self.saw(int(note.payload))
            except Exception:
                logger.warning("catalogue listener lost its connection; reading the version per request")
            finally:
                self.ready = False
            time.sleep(1)


_listeners: dict[tuple, _Listener] = {}


def _listener(engine) -> _Listener:
    return per_process(
        _listeners,
        engine,
        lambda: _Listener(engine.url.set(drivername="postgresql").render_as_string(hide_password=False)),
    )


#: The models whose rows the public lists show; each feature names its own at start-up.
_watched_models: tuple[type, ...] = ()


def watch(*models: type) -> None:
    """Count a change to any row of these models as a change of the public lists."""
    global _watched_models
    _watched_models = tuple(dict.fromkeys((*_watched_models, *models)))


def _watched(objects) -> bool:
    return bool(_watched_models) and any(isinstance(obj, _watched_models) for obj in objects)


@event.listens_for(Session, "before_flush")
def _note_orm_changes(session, _flush_context, _instances):
    if not session.info.get(_CHANGED) and _watched([*session.new, *session.dirty, *session.deleted]):
        session.info[_CHANGED] = True


@event.listens_for(Session, "before_commit")
def _bump_before_commit(session):
    # Only the outermost commit bumps, so the row's lock is the transaction's last and is
    # held just through the commit. before_commit runs ahead of the commit's last flush,
    # so objects still pending count too.
    if session.in_nested_transaction():
        return
    if session.info.get(_CHANGED) or _watched([*session.new, *session.dirty, *session.deleted]):
        connection = session.connection()
        bump = _BUMP_AND_NOTIFY if connection.dialect.name == "postgresql" else _BUMP
        version = connection.execute(bump, {"start": time.time_ns() // 1000}).scalar_one()
        session.info.pop(_CHANGED, None)
        session.info[_NEW_VERSION] = version


@event.listens_for(Session, "after_commit")
def _apply_own_change(session):
    # This process's next request must not wait for its own notification to come back.
    version = session.info.pop(_NEW_VERSION, None)
    if version is not None:
        listener = _listeners.get((os.getpid(), database_key(session.get_bind())))
        if listener is not None:
            listener.saw(version)


@event.listens_for(Session, "after_transaction_end")
def _forget(session, transaction):
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)
        session.info.pop(_NEW_VERSION, None)


# --- the store --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    version: int
    body: bytes
    etag: str
    #: The headers of a full answer; a 304 sends the same less Content-Type.
    headers: tuple[tuple[str, str], ...]


class _Store:
    def __init__(self):
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: Entry, size: int) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


store = _Store()


def _cacheable() -> bool:
    return (
        current_app.config["RESPONSE_CACHE"]
        and request.method in ("GET", "HEAD")
        and "lang" not in request.args
        and "_flashes" not in session
        and not may_be_signed_in()
    )


def _locale() -> str:
    # The app's own choice, straight from its selector, without Flask-Babel's per-request machinery.
    selector = get_babel().locale_selector
    return str((selector() if selector else None) or get_babel().instance.default_locale)


def _key() -> tuple[str, tuple, str, date]:
    # The local date is part of the key: a child's age on the page changes at midnight.
    return request.path, tuple(sorted(request.args.items(multi=True))), _locale(), local_today()


def _entry(version: int, response) -> Entry:
    body = response.get_data()
    etag = hashlib.sha256(body).hexdigest()[:32]
    headers = (
        ("Content-Type", response.content_type),
        ("ETag", f'"{etag}"'),
        # Any copy kept by a browser or a proxy must be checked with us before use.
        ("Cache-Control", "no-cache"),
        ("Vary", "Cookie, Accept-Language"),
    )
    return Entry(version, body, etag, headers)


def _respond(entry: Entry):
    if "If-None-Match" in request.headers and request.if_none_match.contains(entry.etag):
        return current_app.response_class(status=304, headers=entry.headers[1:])
    return current_app.response_class(entry.body, headers=entry.headers)


def public_page(view):
    """Serve a public list view from the cache for anonymous visitors."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not _cacheable():
            return view(*args, **kwargs)
        version = current_version()
        if version is None:
            return view(*args, **kwargs)
        key = _key()
        entry = store.get(key)
        if entry is None or entry.version != version:
            response = current_app.make_response(view(*args, **kwargs))
            if (
                response.status_code != 200
                or response.direct_passthrough
                or "Set-Cookie" in response.headers
                or session.modified
            ):
                return response
            entry = _entry(version, response)
            store.put(key, entry, current_app.config["RESPONSE_CACHE_SIZE"])
        return _respond(entry)

    return wrapped
