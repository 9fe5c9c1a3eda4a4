"""The live board under load: N open board streams, claims over the API, and the list page meanwhile.

One run (`python bench/event_stream.py --postgres URL --streams 500`):
  1. rebuilds the given PostgreSQL database (its schema is dropped), applies the migrations and
     seeds a live event with enough open featured wishes for the claims;
  2. serves the app under gunicorn with the worker class given (gevent by default, the class
     `make serve` uses);
  3. measures the list page (`GET /wishes`) requests/s with wrk, with no stream open;
  4. opens N streams of the event (asyncio sockets in this process, like N projectors/phones),
     measures the workers' memory before and after (RSS), and the list page again;
  5. makes `--claims` claims through `POST /api/v1/wishes/<id>/claim`, spread over
     `--seconds`, and times each from the moment its request left to the moment each stream
     received the message (claim-to-screen latency), counting missed and duplicated messages;
  6. prints the figures and writes them to bench/out/event_stream-<N>.json.
"""

import argparse
import asyncio
import json
import os
import resource
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BENCH, BIN, OUT, ROOT, Server, ensure_translations, log, percentile, run_step, run_wrk  # noqa: E402

SLUG = "bench-board"


def reset_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def seed(url: str, wishes: int) -> list[str]:
    """A live event with `wishes` open featured wishes, made through the services."""
    os.environ["DATABASE_URL"] = url
    sys.path.insert(0, str(ROOT))
    from app import create_app
    from core.clock import local_today, utcnow
    from core.extensions import db
    from core.models import Role
    from core.services import create_user
    from events import services as events
    from wishes import places
    from wishes import services as wishes_services

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        host = create_user("bench-host@example.org", "bench-password-1", "主持人", roles=[Role.HOST])
        caseworker = create_user("bench-cw@example.org", "bench-password-1", "儿童主任", roles=[Role.CASEWORKER])
        supervisor = create_user("bench-sv@example.org", "bench-password-1", "督导员", roles=[Role.SUPERVISOR])
        places.add_place(supervisor, "崂山区", "王哥庄街道")
        child = wishes_services.register_child(
            caseworker,
            {
                "case_no": "BENCH-1",
                "legal_name": "测试甲童",
                "birth_date": local_today().replace(year=local_today().year - 9),
                "gender": "female",
                "guardian_name": "测试监护人",
                "guardian_phone": "13900000000",
                "address": "测试路1号",
                "school": None,
                "category": "other",
                "district": "崂山区",
                "street": "王哥庄街道",
                "community": None,
                "alias": "小海",
                "notes": None,
            },
        )
        ids = []
        for n in range(wishes):
            wish = wishes_services.draft_wish(
                caseworker,
                child,
                {
                    "title": f"心愿 {n + 1}",
                    "story": "一个测试用的心愿，用来测量大屏的实时推送。",
                    "category": "study",
                    "amount_fen": 10000,
                    "needed_by": local_today() + timedelta(days=30),
                    "modes": "gift",
                },
            )
            wishes_services.submit_wish(caseworker, wish)
            wishes_services.approve_wish(supervisor, wish)
            ids.append(wish.public_id)
        event = events.create_event(
            host,
            events.EventInput(slug=SLUG, title="压测活动", starts_at=utcnow(), venue="测试会场"),
        )
        events.feature_wishes(host, event, ids)
        events.open_event(host, event)
        db.session.commit()
    return ids


def worker_rss_kb(master_pid: int) -> int:
    """Resident memory of the gunicorn master's children (the workers), in KiB."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master_pid):
            total += int(fields.get("VmRSS", "0 kB").split()[0])
    return total


class Streams:
    """N stream clients on one asyncio loop in a thread; records when each received each message."""

    def __init__(self, host: str, port: int, count: int):
        self.host, self.port, self.count = host, port, count
        self.received: list[dict[str, list[float]]] = [dict() for _ in range(count)]
        self.connected = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        self.ready.wait(120)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.stop = asyncio.Event()
        self.loop.run_until_complete(self._main())

    async def _main(self):
        tasks = []
        for i in range(self.count):
            tasks.append(asyncio.create_task(self._client(i)))
            if i % 50 == 49:
                await asyncio.sleep(0.05)
        while self.connected < self.count:
            await asyncio.sleep(0.05)
        self.ready.set()
        await self.stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _client(self, index: int):
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=2**20)
        writer.write(
            f"GET /events/{SLUG}/stream HTTP/1.1\r\nHost: {self.host}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        self.connected += 1
        got = self.received[index]
        wish = None
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                if line.startswith(b"data: "):
                    wish = json.loads(line[6:]).get("wish")
                    got.setdefault(wish, []).append(time.monotonic())
        finally:
            writer.close()

    def close(self):
        if self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


def claim(url: str, public_id: str, n: int) -> tuple[int, float]:
    body = json.dumps({"name": f"压测{n}", "contact": f"138{n:08d}"}).encode()
    request = urllib.request.Request(
        f"{url}/api/v1/wishes/{public_id}/claim", data=body, headers={"Content-Type": "application/json"}
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return response.status, started, time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--claims", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--worker-class", default="gevent")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--wrk-seconds", type=float, default=5)
    args = parser.parse_args()
    if not args.postgres:
        raise SystemExit("give --postgres URL (its schema is dropped and rebuilt)")
    url = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.streams * 2 + 200)), hard))

    # One load generator on one address stands for the whole room: no rate limits, no caps per address.
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "RATELIMIT_ENABLED": "0",
        "CLAIM_MAX_ACTIVE_PER_CLIENT": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.update({"EVENT_STREAM_SECONDS": "900", "FLASK_APP": "app", "SECRET_KEY": "bench-secret-key-" + "x" * 32})
    ensure_translations(env)
    reset_database(url)
    run_step([str(BIN / "flask"), "db", "upgrade"], env, "migrations")
    public_ids = seed(url, args.claims + 5)
    OUT.mkdir(exist_ok=True)
    settings = {"workers": args.workers, "worker_class": args.worker_class, "threads": args.threads}
    result: dict = {"streams": args.streams, "claims": args.claims, "settings": settings}
    report = BENCH / "report.lua"
    with Server("app:create_app()", env, settings, OUT / "event_stream.log") as server:
        server.wait_ready("/healthz")
        host, port = "127.0.0.1", server.port
        run_wrk(f"{server.url}/wishes", 1, 8, report)  # warm-up
        base = run_wrk(f"{server.url}/wishes", args.wrk_seconds, 8, report)
        rss_before = worker_rss_kb(server.proc.pid)
        streams = Streams(host, port, args.streams)
        started = time.monotonic()
        streams.start()
        log(f"{args.streams} streams open in {time.monotonic() - started:.1f} s")
        time.sleep(1)
        rss_after = worker_rss_kb(server.proc.pid)
        loaded = run_wrk(f"{server.url}/wishes", args.wrk_seconds, 8, report)
        sent: dict[str, float] = {}
        answered: dict[str, float] = {}
        interval = args.seconds / args.claims
        first = time.monotonic()
        for n, public_id in enumerate(public_ids[: args.claims]):
            wait = first + n * interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            status, at, done = claim(server.url, public_id, n)
            assert status == 201, status
            sent[public_id], answered[public_id] = at, done
        time.sleep(3)
        streams.close()
    latencies, missed, duplicated, after_answer = [], 0, 0, []
    for got in streams.received:
        for public_id, at in sent.items():
            times = got.get(public_id, [])
            if not times:
                missed += 1
                continue
            duplicated += len(times) - 1
            latencies.append((times[0] - at) * 1000)
            after_answer.append((times[0] - answered[public_id]) * 1000)
    spreads = []
    for public_id, done in answered.items():
        firsts = [got[public_id][0] for got in streams.received if got.get(public_id)]
        if firsts:
            spreads.append(((min(firsts) - done) * 1000, (max(firsts) - done) * 1000))
    latencies.sort()
    claim_ms = sorted((answered[p] - sent[p]) * 1000 for p in sent)
    result.update(
        {
            "latency_ms": {
                "p50": round(percentile(latencies, 50), 1),
                "p95": round(percentile(latencies, 95), 1),
                "max": round(latencies[-1], 1) if latencies else None,
            },
            "claim_request_ms": {"p50": round(percentile(claim_ms, 50), 1), "p95": round(percentile(claim_ms, 95), 1)},
            "after_claim_answered_ms": {
                "p50": round(percentile(after_answer, 50), 1),
                "p95": round(percentile(after_answer, 95), 1),
            },
            "first_and_last_stream_ms_median": [
                round(percentile([a for a, _b in spreads], 50), 1),
                round(percentile([b for _a, b in spreads], 50), 1),
            ],
            "missed": missed,
            "duplicated": duplicated,
            "rss_per_stream_kb": round((rss_after - rss_before) / args.streams, 1),
            "list_rps_without_streams": base["rps"],
            "list_rps_with_streams": loaded["rps"],
            "list_rps_ratio": round(loaded["rps"] / base["rps"], 2) if base["rps"] else None,
        }
    )
    print(json.dumps(result, ensure_ascii=False, indent=2))
    (OUT / f"event_stream-{args.streams}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
