"""Wake-ups for open streams: one interface, two implementations.

A broker carries no message, only "event N (or campaign N) has something new": a
topic is an event's id, or ("campaign", id) for a campaign's screen. The stream reads the
messages themselves from the database, after the last id it sent, so a wake-up that is
lost, doubled or early costs nothing but a read. Wake-ups are published only after the
transaction that appended the messages commits (`events.receivers`).

- `LocalBroker` (the embedded default) wakes the streams of this process.
- `RedisBroker` (`REDIS_URL`) publishes on a Redis channel; every process listens on it
  and wakes its own streams, so several gunicorn workers on several machines show the
  same board. If Redis is unreachable the streams still see every message on their
  next poll of the database (`EVENT_STREAM_POLL_SECONDS`).
"""

import logging
import os
import threading
import time

logger = logging.getLogger(__name__)

CHANNEL = "weixinyuan:events"
CAMPAIGN = "campaign"


def campaign_topic(campaign_id: int) -> tuple[str, int]:
    return (CAMPAIGN, campaign_id)


def _encode(topic) -> str:
    return f"{CAMPAIGN}:{topic[1]}" if isinstance(topic, tuple) else str(topic)


def _decode(raw) -> int | tuple[str, int]:
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    if text.startswith(CAMPAIGN + ":"):
        return campaign_topic(int(text[len(CAMPAIGN) + 1 :]))
    return int(text)


class LocalBroker:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._versions: dict[int, int] = {}

    def publish(self, event_id: int) -> None:
        self.wake(event_id)

    def wake(self, event_id: int) -> None:
        with self._changed:
            self._versions[event_id] = self._versions.get(event_id, 0) + 1
            self._changed.notify_all()

    def version(self, event_id: int) -> int:
        """Take this before reading the database, then `wait` on it: a wake-up in between is not lost."""
        return self._versions.get(event_id, 0)

    def wait(self, event_id: int, seen: int, timeout: float) -> bool:
        """Block until event `event_id` moves past version `seen` or `timeout` seconds pass; True when woken."""
        with self._changed:
            return self._changed.wait_for(lambda: self._versions.get(event_id, 0) != seen, timeout=max(timeout, 0))


class RedisBroker(LocalBroker):
    def __init__(self, url: str) -> None:
        super().__init__()
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        # The listener waits for messages as long as there are none: no read timeout, a ping instead.
        self._listener = redis.Redis.from_url(
            url, socket_timeout=None, socket_connect_timeout=5, health_check_interval=30
        )
        self._listener_pid: int | None = None
        self._lock = threading.Lock()

    def publish(self, event_id: int) -> None:
        # This process's streams need not wait for the round trip through Redis.
        self.wake(event_id)
        try:
            self._redis.publish(CHANNEL, _encode(event_id))
        except Exception:  # the streams of other processes fall back on their poll
            logger.warning("live board wake-up not published", exc_info=True)

    def wait(self, event_id: int, seen: int, timeout: float) -> bool:
        self._ensure_listener()
        return super().wait(event_id, seen, timeout)

    def _ensure_listener(self) -> None:
        # gunicorn forks its workers after the app is built: each process starts its own listener.
        if self._listener_pid == os.getpid():
            return
        with self._lock:
            if self._listener_pid == os.getpid():
                return
            self._listener_pid = os.getpid()
            threading.Thread(target=self._listen, name="event-broker", daemon=True).start()

    def _listen(self) -> None:
        backoff = 0.5
        while True:
            try:
                pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                backoff = 0.5
                for item in pubsub.listen():
                    if item.get("type") == "message":
                        try:
                            self.wake(_decode(item["data"]))
                        except (TypeError, ValueError, UnicodeDecodeError):
                            continue
            except Exception:
                logger.warning("live board listener lost Redis; retrying", exc_info=True)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10)


#: The key under app.extensions.
KEY = "event_broker"


def init_app(app) -> None:
    url = app.config.get("EVENT_BROKER_URL", app.config.get("REDIS_URL") or "")
    app.extensions[KEY] = RedisBroker(url) if url else LocalBroker()


def get(app) -> LocalBroker:
    return app.extensions[KEY]
