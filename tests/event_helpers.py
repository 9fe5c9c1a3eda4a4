"""Builders for events and a small Server-Sent Events client for the stream tests."""

import http.client
import json
import time
from datetime import timedelta
from urllib.parse import urlsplit

from core.clock import utcnow
from core.extensions import db
from core.models import Role
from events import services
from events.models import EventStatus
from tests.factories import make_user, make_wish


def make_event(host=None, wishes=3, status=EventStatus.LIVE, slug="liuyi", attendees=(), **wish_overrides):
    host = host or make_user(Role.HOST)
    event = services.create_event(
        host,
        services.EventInput(
            slug=slug, title="六一儿童节微心愿认领活动", starts_at=utcnow() + timedelta(hours=1), venue="王哥庄街道"
        ),
    )
    db.session.commit()
    featured = [make_wish(**wish_overrides) for _ in range(wishes)]
    if featured:
        services.feature_wishes(host, event, [w.public_id for w in featured])
    for paddle, name, phone in attendees:
        services.add_attendee(host, event, services.AttendeeInput(paddle=paddle, name=name, phone=phone))
    if status in (EventStatus.LIVE, EventStatus.CLOSED):
        services.open_event(host, event)
    if status == EventStatus.CLOSED:
        services.close_event(host, event)
    db.session.commit()
    return event, host, featured


class SseClient:
    """Reads an event stream over a real socket, message by message."""

    def __init__(self, base_url: str, path: str, last_event_id: str | None = None, timeout: float = 5):
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", path, headers=headers)
        self.response = self.conn.getresponse()
        self.comments = 0

    @property
    def status(self) -> int:
        return self.response.status

    def next(self, timeout: float = 5) -> dict | None:
        """The next message (id, event, data), or None when the stream ends or nothing comes in time."""
        deadline = time.monotonic() + timeout
        message: dict = {}
        while time.monotonic() < deadline:
            try:
                raw = self.response.readline()
            except TimeoutError:
                return None
            if not raw:
                return None
            line = raw.decode("utf-8").rstrip("\r\n")
            if line == "":
                if "data" in message or "event" in message:
                    if "data" in message:
                        message["data"] = json.loads(message["data"])
                    return message
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            name, _, value = line.partition(":")
            message[name] = value[1:] if value.startswith(" ") else value
        return None

    def take(self, count: int, timeout: float = 10) -> list[dict]:
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            message = self.next(timeout=max(deadline - time.monotonic(), 0.1))
            if message is None:
                break
            got.append(message)
        return got

    def close(self) -> None:
        self.conn.close()
