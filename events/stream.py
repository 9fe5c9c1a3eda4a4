"""The stream of an event's board: the messages after Last-Event-ID, then live ones.

Every open board of an event wants the same few new rows at the same moment. A `Tail`
per process reads them once per wake-up (or once per poll interval), holding a short
window of the latest messages in memory; the streams take theirs from it. A stream that
resumes from further back than the window reads the database itself. The guarantee is
the one a stream reading the table directly would have: the tail appends rows only in
id order and only what is committed, and ids follow commit order (events.services.append).
"""

import bisect
import json
import threading
import time
from collections import defaultdict
from typing import NamedTuple

from core.database import read_only
from events import services

#: Messages of one event kept in memory per process.
WINDOW = 1000


def sse(message_id: int, kind: str, data: dict) -> str:
    return f"id: {message_id}\nevent: {kind}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


class Message(NamedTuple):
    id: int
    text: str


class Tail:
    """One per process and log: events' boards read `services.messages_after`, campaign screens
    `services.campaign_messages_after` (keys then hold the campaign's id and creation time)."""

    def __init__(self, engine, poll: float, reader=None) -> None:
        self.engine, self.poll = engine, poll
        self.reader = reader or services.messages_after
        # Keyed by (event id, event creation time): a database rebuilt under a running process
        # (tests do this) gives an old id to a new event, never the old key.
        self._locks: dict[tuple, threading.Lock] = defaultdict(threading.Lock)
        self._rows: dict[tuple, list] = defaultdict(list)
        #: Per event: the broker version the last read followed, and when it ran.
        self._read: dict[tuple, tuple[int, float]] = {}
        #: Per event: the last id the tail has seen.
        self._last: dict[tuple, int] = {}

    def _read_db(self, event_id: int, after: int) -> list["Message"]:
        """Messages after `after`, each already in its stream form: every stream sends the same text."""
        with read_only(), self.engine.connect() as connection:
            rows = self.reader(connection, event_id, after)
        return [Message(row.id, sse(row.id, row.kind, row.data)) for row in rows]

    def after(self, key: tuple, last_id: int, version: int) -> list:
        event_id = key[0]
        with self._locks[key]:
            seen = self._read.get(key)
            # Versions only grow: a stream holding an older one than the last read is covered by that read.
            if seen is None or version > seen[0] or time.monotonic() - seen[1] >= self.poll / 2:
                if key not in self._last:
                    # First use in this process: start the window at what the stream asks for.
                    self._last[key] = last_id
                while True:
                    rows = self._read_db(event_id, self._last[key])
                    self._rows[key].extend(rows)
                    if rows:
                        self._last[key] = rows[-1].id
                    if len(rows) < 500:
                        break
                del self._rows[key][:-WINDOW]
                self._read[key] = (max(version, seen[0] if seen else version), time.monotonic())
            rows = self._rows[key]
            if last_id >= self._window_start(key):
                # Ids in the window ascend: find the first one after last_id by bisection.
                return rows[bisect.bisect_right(rows, last_id, key=lambda row: row.id) :]
        return self._read_db(event_id, last_id)

    def _window_start(self, key: tuple) -> int:
        """Every message after this id (up to the tail's last) is in the window."""
        rows = self._rows[key]
        if rows:
            return rows[0].id - 1 if len(rows) < WINDOW else rows[0].id
        return self._last.get(key, 0)


def generate(live, tail: Tail, key: tuple, last_id: int, lifetime: float, poll: float, heartbeat: float, topic=None):
    """Yield the stream's text; ends after `lifetime` seconds (the browser reconnects with Last-Event-ID).

    `topic` is what the broker wakes: the event's id unless given (a campaign's screen gives its topic).
    """
    yield "retry: 1000\n\n"
    deadline = time.monotonic() + lifetime
    quiet_since = time.monotonic()
    event_id = key[0] if topic is None else topic
    while True:
        seen = live.version(event_id)
        rows = tail.after(key, last_id, seen)
        for message in rows:
            last_id = message.id
            yield message.text
        now = time.monotonic()
        if rows:
            quiet_since = now
            continue
        if now >= deadline:
            return
        if now - quiet_since >= heartbeat:
            yield ": keep-alive\n\n"
            quiet_since = now
        live.wait(event_id, seen, min(poll, deadline - now, heartbeat - (now - quiet_since)))
