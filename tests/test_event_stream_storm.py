"""The live board over real HTTP: concurrent claims through every door reach every open stream once, in order.

Ids must follow commit order: a stream reads "after the last id it sent", so a message
committed later with a smaller id would be missed. The event's row lock serialises the
appends (events.services.append); on PostgreSQL these claims really commit concurrently.
"""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from core.extensions import db
from events.models import EventMessage
from tests.conftest import LiveServer, make_app
from tests.event_helpers import SseClient, make_event
from tests.factories import PASSWORD
from tests.helpers import fast_passwords  # noqa: F401 (an autouse fixture)

STREAMS = 8
DOORS = ("api", "form", "room", "host")


class Collector(threading.Thread):
    """One board: reads its stream until it has `want` claim messages or time runs out."""

    def __init__(self, url: str, want: int, last_event_id: str | None = None, timeout: float = 30):
        super().__init__(daemon=True)
        self.client = SseClient(url, "/events/liuyi/stream", last_event_id=last_event_id, timeout=timeout)
        self.want, self.timeout, self.messages = want, timeout, []

    def run(self):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and sum(m["event"] == "claim" for m in self.messages) < self.want:
            message = self.client.next(timeout=deadline - time.monotonic())
            if message is None:
                break
            self.messages.append(message)
        self.client.close()


def _paddles(n):
    return [(i + 1, f"参会者{i + 1}", f"1390000{i + 1:04d}") for i in range(n)]


def _door_sessions(url, host):
    sessions = {}
    host_session = requests.Session()
    response = host_session.post(
        f"{url}/login", data={"email": host.email, "password": PASSWORD}, allow_redirects=False
    )
    assert response.status_code == 302
    sessions["host"] = host_session
    return sessions


def _send(url, door, public_id, n, host_session):
    if door == "api":
        body = {"name": f"捐赠者{n}", "contact": f"138{n:08d}"}
        return requests.post(f"{url}/api/v1/wishes/{public_id}/claim", json=body, timeout=60)
    if door == "form":
        data = {"name": f"捐赠者{n}", "contact": f"138{n:08d}", "mode": "gift"}
        return requests.post(f"{url}/wishes/{public_id}/claim", data=data, allow_redirects=False, timeout=60)
    if door == "room":
        phone = requests.Session()
        phone.get(f"{url}/events/liuyi/room", timeout=60)
        data = {"name": f"现场{n}", "contact": f"137{n:08d}", "key": f"room-{n}"}
        return phone.post(f"{url}/events/liuyi/room/{public_id}", data=data, allow_redirects=False, timeout=60)
    data = {"wish": public_id, "paddles": str(n % 20 + 1), "key": f"host-{n}"}
    return host_session.post(f"{url}/events/liuyi/host/claim", data=data, allow_redirects=False, timeout=60)


def _storm(url, public_ids, host_session, offset=0):
    """Two attempts per wish through two different doors, all at once."""
    jobs = [(DOORS[(i + k) % 4], pid, offset + i * 2 + k) for i, pid in enumerate(public_ids) for k in (0, 1)]
    start = threading.Event()

    def run(job):
        start.wait()
        return _send(url, job[0], job[1], job[2], host_session)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(run, job) for job in jobs]
        start.set()
        responses = [f.result() for f in futures]
    assert all(r.status_code < 500 for r in responses), [r.status_code for r in responses]


def test_claims_through_every_door_reach_every_stream_once_in_order(app, live_server, monkeypatch):
    monkeypatch.setitem(app.config, "EVENT_STREAM_SECONDS", 60)
    event, host, wishes = make_event(wishes=12, attendees=_paddles(20))
    public_ids = [w.public_id for w in wishes]
    sessions = _door_sessions(live_server.url, host)

    boards = [Collector(live_server.url, want=12) for _ in range(STREAMS)]
    # One board is cut off after the first half and comes back with Last-Event-ID.
    cut = Collector(live_server.url, want=6)
    for board in [*boards, cut]:
        board.start()
    _storm(live_server.url, public_ids[:6], sessions["host"])
    cut.join(timeout=30)
    resume_from = cut.messages[-1]["id"]
    _storm(live_server.url, public_ids[6:], sessions["host"], offset=100)
    for board in boards:
        board.join(timeout=40)

    db.session.commit()
    stored = list(
        db.session.scalars(select(EventMessage.id).where(EventMessage.kind == "claim").order_by(EventMessage.id))
    )
    assert len(stored) == 12
    for board in boards:
        ids = [int(m["id"]) for m in board.messages if m["event"] == "claim"]
        assert ids == stored, "every board gets every claim exactly once, in the same order"
        assert sorted({m["data"]["wish"] for m in board.messages}) == sorted(public_ids)

    assert [int(m["id"]) for m in cut.messages] == stored[:6]
    back = SseClient(live_server.url, "/events/liuyi/stream", last_event_id=resume_from)
    try:
        missed = back.take(6, timeout=5)
        assert back.next(timeout=0.5) is None  # and nothing more
    finally:
        back.close()
    assert [int(m["id"]) for m in missed] == stored[6:]


REDIS_URL = os.environ.get("REDIS_URL_TEST", "")


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL_TEST is not set")
def test_redis_wakes_the_streams_of_another_server_process(app, database_url, tmp_path):
    """Two servers, each with its own broker: a claim on one reaches a board streaming from the other at once."""
    import redis

    redis.Redis.from_url(REDIS_URL).ping()
    # The database poll is far away: only a wake-up through Redis can deliver the message in time.
    settings = {"EVENT_BROKER_URL": REDIS_URL, "EVENT_STREAM_POLL_SECONDS": 60, "EVENT_STREAM_SECONDS": 30}
    first = make_app(database_url, tmp_path / "a", **settings)
    second = make_app(database_url, tmp_path / "b", **settings)
    event, _host, wishes = make_event(wishes=2)
    with LiveServer(first) as a, LiveServer(second) as b:
        board = SseClient(b.url, "/events/liuyi/stream")
        try:
            board.comments  # noqa: B018 (the stream is open before the claim)
            time.sleep(0.5)
            started = time.monotonic()
            body = {"name": "周先生", "contact": "13800001111"}
            assert requests.post(f"{a.url}/api/v1/wishes/{wishes[0].public_id}/claim", json=body).status_code == 201
            got = board.take(1, timeout=5)
            elapsed = time.monotonic() - started
        finally:
            board.close()
    assert [m["data"]["wish"] for m in got] == [wishes[0].public_id]
    assert elapsed < 2, elapsed
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(EventMessage)) == 1


def test_a_second_append_waits_for_the_first_to_commit(app):
    """Ids follow commit order: while one transaction holds an appended message, another append to the event waits."""
    from events import services

    event, _host, _wishes = make_event(wishes=1)
    event_id = event.id
    db.session.commit()
    appended, order = threading.Event(), []

    def first():
        with app.app_context():
            services.append(event_id, services.MessageKind.PAUSE, {})
            appended.set()
            time.sleep(0.8)
            order.append("first commits")
            db.session.commit()

    def second():
        appended.wait(5)
        with app.app_context():
            services.append(event_id, services.MessageKind.RESUME, {})
            order.append("second appended")
            db.session.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert order == ["first commits", "second appended"]
    kinds = list(db.session.scalars(select(EventMessage.kind).order_by(EventMessage.id)))
    assert kinds == ["pause", "resume"]
