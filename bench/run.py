"""The benchmark behind `make bench`: the public list, the list API, Stripe webhooks and claims under gunicorn.

One run:
  1. builds a fresh database (a temporary SQLite file, or the PostgreSQL database given with
     --postgres URL / BENCH_DATABASE_URL, created when the server does not have it, whose
     schema is dropped and rebuilt), applies the migrations, loads the demo data and
     bulk-inserts 10,000 published wishes and the pending donations the webhook measurement pays;
  2. serves the real app under the tuned gunicorn setting (gthread, 2 × cores workers,
     4 threads) and checks that a claim shows on both lists at once (20 claims, each followed
     by GETs that land on any worker);
  3. serves bench/bare_app.py (one Flask route answering "ok") and bench/floor_app.py (the
     real app with the response cache off and one do-nothing route) with the same setting,
     and measures the bare route, `GET /` and `GET /api/v1/wishes` (target: >= 0.5 of the
     bare route), `GET /` answered 304 to If-None-Match, the floor route, and both lists
     rendered on every request ("uncached", target of the list work: >= 0.2);
  4. measures the same again with all three apps under plain sync workers (`gunicorn -w 2`),
     every ratio against the bare route under that same setting;
  5. fires signed checkout.session.completed events at `POST /stripe/webhook` of the real app,
     every event several times in a shuffled order (duplicates included), in rounds
     interleaved with the bare route, and reports deliveries/s as a ratio of it (target:
     >= 0.3): first with no scheduler running (the endpoint alone), then with `flask
     scheduler` applying the stored events as they arrive; it times how long the scheduler
     takes to apply each backlog ("applier: N events/s", target >= 500 on PostgreSQL), then
     checks the database: one succeeded donation and one ledger journal per event, and
     `flask ledger check` passes;
  6. sweeps `POST /api/v1/wishes/<id>/claim` open-loop at fixed arrival rates (bench/openloop.py:
     attempts leave on schedule whatever the answers, latency counts from the scheduled time),
     a few seconds a rate, and checks the database for double claims after every step; the
     headline is the highest rate with p99 < 100 ms (target: >= 400 attempts/s on PostgreSQL).
     It runs on a server of its own, gthread with one worker a core (claim attempts wait on the
     database and on each other's row locks, so threads help; more processes than cores only
     take turns on them), then again under plain sync workers (`gunicorn -w 2`);
  7. prints the tables and writes every figure to bench/out/latest.json.

GET figures come from interleaved rounds (bare, page, API, … in turn, five times), so that
load from other work on the machine falls on all of them alike.

The GET and webhook load generator is wrk (Debian: `apt-get install -y wrk`); without it a
threaded Python client stands in and every figure is labelled as such. All traffic goes to
127.0.0.1, and every part is bounded in time.
"""

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_bulk import BENCH_DONOR, completed_event  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"

LIST_TARGET = 0.5
WEBHOOK_TARGET = 0.3
UNCACHED_TARGET = 0.2
APPLIER_TARGET = 500
CLAIM_P99_TARGET_MS = 100
CLAIM_RATE_TARGET = 400
#: The app's STRIPE_WEBHOOK_SECRET in the bench; it signs nothing but the bench's own events.
WEBHOOK_SECRET = "whsec_bench_only"
#: Deliveries are shuffled within blocks of this many events (see write_deliveries).
WEBHOOK_BLOCK = 100


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --- the database -----------------------------------------------------------------------------


def sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def ensure_postgres_database(url: str) -> bool:
    """Create the database when the server does not have it yet; True if it was created.

    CREATE DATABASE cannot run inside a transaction, so this talks to the server's `postgres`
    maintenance database with autocommit."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(sqlalchemy_url(url))
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}):
                return False
            quoted = conn.dialect.identifier_preparer.quote_identifier(target.database)
            conn.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        engine.dispose()


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(url).database or ""
    if name == "test" or "bench" not in name:
        raise SystemExit(
            f"refusing to wipe the PostgreSQL database {name!r}: the bench drops its schema, so give it a "
            "database of its own whose name contains 'bench' (it is created if it does not exist)"
        )
    if ensure_postgres_database(url):
        log(f"created the PostgreSQL database {name!r}")
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def run_step(args: list[str], env: dict, what: str) -> None:
    started = time.perf_counter()
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"{what} failed")
    log(f"{what}: {time.perf_counter() - started:.1f} s")


def ensure_translations(env: dict) -> None:
    if not list((ROOT / "translations").glob("*/LC_MESSAGES/messages.mo")):
        run_step([str(BIN / "pybabel"), "compile", "-d", "translations"], env, "compile translations")


# --- gunicorn ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM, and SIGKILL if it has not ended within 15 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Server:
    """One gunicorn master that we start and stop ourselves."""

    def __init__(self, spec: str, env: dict, settings: dict, logfile: Path, pythonpath: Path | None = None):
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        args = [
            str(BIN / "gunicorn"),
            "--bind", f"{HOST}:{self.port}",
            "--workers", str(settings["workers"]),
            "--worker-class", settings["worker_class"],
            "--threads", str(settings["threads"]),
            "--backlog", "2048",
            "--log-level", "warning",
            "--error-logfile", str(logfile),
        ]  # fmt: skip
        if pythonpath:
            args += ["--pythonpath", str(pythonpath)]
        self.logfile = logfile
        self.proc = subprocess.Popen(
            [*args, spec], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        tail = self.logfile.read_text(errors="replace")[-3000:] if self.logfile.exists() else ""
        raise SystemExit(f"gunicorn did not answer on {self.url}{path}\n{tail}")

    def stop(self) -> None:
        stop_process(self.proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# --- load generators --------------------------------------------------------------------------


def wrk_threads(connections: int) -> int:
    return max(1, min(os.cpu_count() or 1, connections))


def run_wrk(url: str, seconds: float, connections: int, script: Path, script_args: list[str] = (), headers=()) -> dict:
    args = [
        "wrk", "--latency", "--timeout", "10s",
        "-t", str(wrk_threads(connections)), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
        "-s", str(script),
    ]  # fmt: skip
    for header in headers:
        args += ["-H", header]
    args.append(url)
    if script_args:
        args += ["--", *script_args]
    result = subprocess.run(args, capture_output=True, text=True)
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line[len("BENCH_JSON ") :])
            break
    else:
        raise SystemExit(f"wrk gave no result:\n{result.stdout}\n{result.stderr}")
    seconds = data["duration_us"] / 1e6
    lat = data["latency_us"]
    out = {
        "client": "wrk",
        "connections": connections,
        "seconds": round(seconds, 2),
        "requests": data["requests"],
        "rps": round(data["requests"] / seconds, 1),
        "p50_ms": round(lat["p50"] / 1000, 2),
        "p90_ms": round(lat["p90"] / 1000, 2),
        "p99_ms": round(lat["p99"] / 1000, 2),
        "max_ms": round(lat["max"] / 1000, 2),
        "bytes_per_request": round(data["bytes"] / max(1, data["requests"])),
        "errors": data["errors"],
    }
    for key in ("status", "statuses", "outcomes", "wrapped"):
        if key in data:
            out[key] = data[key]
    return out


class PyClient:
    """The fallback when wrk is missing: closed-loop keep-alive clients, one thread each.

    The clients share the GIL with each other, so this measures much less than wrk would.
    """

    def __init__(self, url: str, seconds: float, connections: int, make_request, headers=()):
        self.host, self.port = url.split("//", 1)[1].split("/", 1)[0].split(":")
        self.seconds, self.connections, self.make_request = seconds, connections, make_request
        self.headers = dict(h.split(": ", 1) for h in headers)
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.errors = 0
        self.bytes = 0
        #: the "outcome" of each 200 answer that names one (the webhook's)
        self.outcomes: dict[str, int] = {}

    def _loop(self, deadline: float) -> None:
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=10)
        lat, statuses, nbytes, errors, outcomes = [], {}, 0, 0, []
        while time.monotonic() < deadline:
            method, path, body, *extra = self.make_request()
            headers = dict(self.headers)
            if body is not None:
                headers["Content-Type"] = "application/json"
            for more in extra:
                headers.update(more)
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                nbytes += len(data)
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection(self.host, int(self.port), timeout=10)
                continue
            lat.append(time.perf_counter() - started)
            key = str(response.status)
            if response.status == 200 and path == "/stripe/webhook":
                outcomes.append(json.loads(data).get("outcome", "unknown"))
            statuses[key] = statuses.get(key, 0) + 1
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        conn.close()
        with self.lock:
            self.latencies += lat
            self.bytes += nbytes
            self.errors += errors
            for key, n in statuses.items():
                self.statuses[key] = self.statuses.get(key, 0) + n
            for outcome in outcomes:
                self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def run(self) -> dict:
        started = time.monotonic()
        deadline = started + self.seconds
        threads = [threading.Thread(target=self._loop, args=(deadline,)) for _ in range(self.connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - started
        lat = sorted(self.latencies) or [0.0]

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(len(lat) * p / 100))] * 1000, 2)

        n = len(self.latencies)
        non_2xx = sum(v for k, v in self.statuses.items() if not k.startswith(("2", "3")))
        return {
            "client": "python-threaded (wrk not installed; figures are far below what wrk would measure)",
            "connections": self.connections,
            "seconds": round(seconds, 2),
            "requests": n,
            "rps": round(n / seconds, 1),
            "p50_ms": pct(50),
            "p90_ms": pct(90),
            "p99_ms": pct(99),
            "max_ms": round(lat[-1] * 1000, 2),
            "bytes_per_request": round(self.bytes / max(1, n)),
            "errors": {"connect": self.errors, "read": 0, "write": 0, "status": non_2xx, "timeout": 0},
            "statuses": self.statuses,
            "outcomes": self.outcomes,
        }


def measure_once(url: str, seconds: float, args, headers=()) -> dict:
    if args.wrk:
        return run_wrk(url, seconds, args.connections, BENCH / "report.lua", headers=headers)
    base, _, path = url.partition("//")[2].partition("/")
    return PyClient(f"http://{base}", seconds, args.connections, lambda: ("GET", "/" + path, None), headers).run()


def measure_interleaved(targets: dict[str, tuple[str, list[str]]], args) -> dict[str, dict]:
    """Measure every target in turn, round after round, so drifting load on a shared machine
    falls on all of them alike. Requests and seconds add up over the rounds; p50 is the
    median of the rounds' p50s and p99 the worst round's."""
    rounds = max(1, args.rounds)
    share = args.duration / rounds
    for url, headers in targets.values():
        measure_once(url, args.warmup, args, headers)
    runs: dict[str, list[dict]] = {name: [] for name in targets}
    for r in range(rounds):
        log(f"round {r + 1}/{rounds}: " + ", ".join(targets) + f" ({share:.1f} s each)")
        for name, (url, headers) in targets.items():
            runs[name].append(measure_once(url, share, args, headers))
    return {name: merge_rounds(parts) for name, parts in runs.items()}


def merge_rounds(parts: list[dict]) -> dict:
    """Requests and seconds add up over the rounds; p50 is the median of the rounds' p50s
    and p99 the worst round's; answer counts by status and outcome add up."""
    requests = sum(p["requests"] for p in parts)
    seconds = sum(p["seconds"] for p in parts)
    merged = {
        "client": parts[0]["client"],
        "connections": parts[0]["connections"],
        "rounds": len(parts),
        "seconds": round(seconds, 2),
        "requests": requests,
        "rps": round(requests / seconds, 1),
        "rps_by_round": [p["rps"] for p in parts],
        "p50_ms": sorted(p["p50_ms"] for p in parts)[len(parts) // 2],
        "p90_ms": max(p["p90_ms"] for p in parts),
        "p99_ms": max(p["p99_ms"] for p in parts),
        "max_ms": max(p["max_ms"] for p in parts),
        "bytes_per_request": parts[0]["bytes_per_request"],
        "errors": {k: sum(p["errors"][k] for p in parts) for k in parts[0]["errors"]},
    }
    for key in ("statuses", "outcomes"):
        if any(key in p for p in parts):
            counts: dict[str, int] = {}
            for part in parts:
                for k, n in part.get(key, {}).items():
                    counts[k] = counts.get(k, 0) + n
            merged[key] = counts
    if any("wrapped" in p for p in parts):
        merged["wrapped"] = sum(p.get("wrapped", 0) for p in parts)
    return merged


# --- the claim sweep: open-loop arrivals at fixed rates ---------------------------------------

#: One group of four attempts: a fresh wish, the same wish again right behind it (the two race;
#: one wins), and two wishes that were taken before the sweep began (a plain 409).
CLAIM_PATTERN = ("win", "race", "taken", "taken")


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return round(ordered[int(rank) - 1], 2)


def cpu_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def process_cpu_s(pids) -> dict[int, float]:
    """User + system CPU seconds of each process still there, from /proc/PID/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def database_backends(database: str | None) -> list[int]:
    """PostgreSQL's server processes for our database (their title names it)."""
    if not database:
        return []
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                title = f.read().decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {database} " in title:
            pids.append(int(entry.name))
    return pids


class CpuWatch:
    """CPU seconds spent by the app server (gunicorn master and workers) and by our database's
    PostgreSQL backends between start() and stop(), and by the whole machine."""

    def __init__(self, server_pid: int, database: str | None):
        self.server_pid, self.database = server_pid, database

    def pids(self) -> tuple[list[int], list[int]]:
        return [self.server_pid, *children(self.server_pid)], database_backends(self.database)

    def start(self) -> None:
        app, db = self.pids()
        self.before = process_cpu_s(app), process_cpu_s(db), cpu_busy()

    def stop(self) -> dict:
        app, db = self.pids()
        after = process_cpu_s(app), process_cpu_s(db), cpu_busy()
        used = [sum(t - self.before[i].get(pid, 0.0) for pid, t in after[i].items()) for i in (0, 1)]
        busy = (after[2][0] - self.before[2][0]) / os.sysconf("SC_CLK_TCK")
        total = (after[2][1] - self.before[2][1]) / os.sysconf("SC_CLK_TCK")
        return {"app_cpu_s": used[0], "db_cpu_s": used[1], "machine_busy_s": busy, "machine_total_s": total}


def claim_plan(rate: float, seconds: float, fresh: list[str], taken: list[str], taken_from: int) -> list:
    """(wish, kind) for every slot of one step, in CLAIM_PATTERN groups."""
    slots = int(rate * seconds)
    groups = -(-slots // len(CLAIM_PATTERN))
    if groups > len(fresh):
        raise ValueError("not enough open wishes")
    plan = []
    t = taken_from
    for g in range(groups):
        for kind in CLAIM_PATTERN:
            if kind == "taken":
                plan.append((taken[t % len(taken)], kind))
                t += 1
            else:
                plan.append((fresh[g], kind))
    return plan[:slots]


def fire_claims(port: int, plan: list, rate: float, seconds: float, tmp: Path, args, watch: CpuWatch) -> dict:
    """One open-loop step: `args.claim_procs` generator processes share the plan's slots."""
    path = tmp / f"claims-{rate:g}.txt"
    path.write_text("".join(f"{wish} {kind}\n" for wish, kind in plan))
    # Room for the processes to start and open their first connections before slot 0.
    start = time.monotonic() + 1.0
    common = [
        sys.executable, str(BENCH / "openloop.py"), "--port", str(port), "--plan", str(path),
        "--rate", str(rate), "--duration", str(seconds), "--start", repr(start),
        "--procs", str(args.claim_procs), "--timeout", "10",
        "--connections", str(max(2, args.claim_connections // args.claim_procs)),
    ]  # fmt: skip
    watch.start()
    procs = [
        subprocess.Popen([*common, "--proc", str(k)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k in range(args.claim_procs)
    ]
    parts = []
    for proc in procs:
        out, err = proc.communicate(timeout=seconds + 60)
        if proc.returncode != 0:
            raise SystemExit(f"the claim generator failed:\n{err[-3000:]}")
        parts.append(json.loads(out))
    cpu = watch.stop()
    wall = max(p["last_answer"] for p in parts) - start if any(p["answered"] for p in parts) else seconds
    latency = {kind: [x for p in parts for x in p["latency_ms"].get(kind, [])] for kind in set(CLAIM_PATTERN)}
    every = [x for values in latency.values() for x in values]
    statuses: dict[str, dict[str, int]] = {}
    for p in parts:
        for kind, counts in p["statuses"].items():
            for status, n in counts.items():
                statuses.setdefault(kind, {})[status] = statuses.setdefault(kind, {}).get(status, 0) + n
    totals: dict[str, int] = {}
    for counts in statuses.values():
        for status, n in counts.items():
            totals[status] = totals.get(status, 0) + n
    won: dict[str, int] = {}
    for p in parts:
        for wish, n in p["won"].items():
            won[wish] = won.get(wish, 0) + n
    lag = [x for p in parts for x in p["dispatch_lag_ms"]]
    answered = sum(p["answered"] for p in parts)
    cpu_s = sum(p["cpu_s"] for p in parts)
    per_attempt = max(1, answered)
    return {
        "rate": rate,
        "seconds": seconds,
        "sent": sum(p["sent"] for p in parts),
        "answered": answered,
        "achieved_rps": round(answered / wall, 1) if wall > 0 else 0.0,
        "p50_ms": percentile(every, 50),
        "p90_ms": percentile(every, 90),
        "p99_ms": percentile(every, 99),
        "max_ms": round(max(every), 2) if every else 0.0,
        "by_kind": {
            kind: {
                "p50_ms": percentile(latency[kind], 50),
                "p99_ms": percentile(latency[kind], 99),
                "statuses": statuses.get(kind, {}),
            }
            for kind in sorted(latency)
        },
        "status": {
            "201": totals.get("201", 0),
            "409": totals.get("409", 0),
            "5xx": sum(n for status, n in totals.items() if status.startswith("5")),
            "other": sum(n for status, n in totals.items() if status not in ("201", "409") and status[0] != "5"),
        },
        "errors": {k: sum(p["errors"][k] for p in parts) for k in parts[0]["errors"]},
        "connections": sum(p["connections"] for p in parts),
        "dispatch_lag_p99_ms": percentile(lag, 99),
        "dispatch_lag_max_ms": round(max(lag), 2) if lag else 0.0,
        "generator_cpu_s": round(cpu_s, 2),
        "generator_cores": round(cpu_s / wall, 3) if wall > 0 else 0.0,
        "machine_cpu_busy": round(cpu["machine_busy_s"] / max(1e-9, cpu["machine_total_s"]), 3),
        "app_cpu_ms_per_attempt": round(cpu["app_cpu_s"] * 1000 / per_attempt, 2),
        # SQLite runs inside the app's processes: its CPU is in app_cpu_ms_per_attempt.
        "db_cpu_ms_per_attempt": round(cpu["db_cpu_s"] * 1000 / per_attempt, 2) if watch.database else None,
        # What other work on the machine took meanwhile, in cores (the wall time of the
        # /proc/stat window, not only the step: a rough figure).
        "others_cores": round(
            max(0.0, cpu["machine_busy_s"] - cpu["app_cpu_s"] - cpu["db_cpu_s"] - cpu_s)
            / max(1e-9, cpu["machine_total_s"] / (os.cpu_count() or 1)),
            2,
        ),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "won": won,
    }


def open_wish_ids(engine) -> list[str]:
    from sqlalchemy import text

    with engine.connect() as conn:
        ids = sorted(conn.scalars(text("SELECT public_id FROM wishes WHERE status = 'published'")))
    random.Random(7).shuffle(ids)
    return ids


def check_claim_step(step: dict, before: dict, after: dict) -> None:
    """No double claim: at most one active claim per wish, one 201 per wish at most, and as many
    claims in the database as 201 answers (every attempt was answered before counting)."""
    won = step.pop("won")
    s = step["status"]
    step["claims_created"] = after["claims"] - before["claims"]
    step["wishes_with_several_201"] = sum(1 for n in won.values() if n > 1)
    step["wishes_with_several_active_claims"] = after["wishes_with_several_active_claims"]
    step["claimed_wishes_without_one_active_claim"] = after["claimed_wishes_without_one_active_claim"]
    step["double_claims"] = step["wishes_with_several_201"] + step["wishes_with_several_active_claims"]
    taken = step["by_kind"].get("taken", {}).get("statuses", {})
    step["taken_not_409"] = sum(n for status, n in taken.items() if status != "409")
    step["consistent"] = (
        step["double_claims"] == 0
        and step["claimed_wishes_without_one_active_claim"] == 0
        and step["claims_created"] == s["201"] == sum(won.values())
        and step["taken_not_409"] == 0
    )


def measure_claim_sweep(server: "Server", engine, tmp: Path, args) -> dict:
    """Open-loop claim attempts at each rate of `args.claim_rates` in turn, `args.claim_step`
    seconds each; the database is checked for double claims after every step. The sweep
    stops early once a step's p99 passes `args.claim_stop_p99_ms` or the server answers
    less than 80 % of the offered rate: past that point, more traffic measures nothing."""
    port = server.port
    watch = CpuWatch(server.proc.pid, engine.url.database if engine.dialect.name == "postgresql" else None)
    fresh = open_wish_ids(engine)
    used = 0
    # Warm-up: fresh wishes only (win + race); its winners join the wishes taken before.
    warm_rate, warm_s = args.claim_warmup_rate, max(1.0, args.warmup)
    warm_groups = int(warm_rate * warm_s) // 2
    warm_plan = [(wish, kind) for wish in fresh[:warm_groups] for kind in ("win", "race")]
    used += warm_groups
    log(f"claim sweep: warm-up at {warm_rate:g}/s for {warm_s:g} s")
    before = db_figures(engine)
    warm = fire_claims(port, warm_plan, warm_rate, warm_s, tmp, args, watch)
    time.sleep(0.5)
    check_claim_step(warm, before, db_figures(engine))
    from sqlalchemy import text

    with engine.connect() as conn:
        taken = sorted(conn.scalars(text("SELECT public_id FROM wishes WHERE status = 'claimed'")))
    random.Random(13).shuffle(taken)
    steps = []
    taken_at = 0
    for rate in args.claim_rates:
        try:
            plan = claim_plan(rate, args.claim_step, fresh[used:], taken, taken_at)
        except ValueError:
            log(f"claim sweep: not enough open wishes left for {rate:g}/s; stopping")
            break
        used += sum(1 for _, kind in plan if kind == "win")
        taken_at += sum(1 for _, kind in plan if kind == "taken")
        before = db_figures(engine)
        step = fire_claims(port, plan, rate, args.claim_step, tmp, args, watch)
        # Every attempt was answered (or timed out) before fire_claims returned.
        time.sleep(0.3)
        check_claim_step(step, before, db_figures(engine))
        step["passed"] = (
            step["p99_ms"] < CLAIM_P99_TARGET_MS
            and step["status"]["5xx"] == 0
            and step["status"]["other"] == 0
            and sum(v for k, v in step["errors"].items() if k != "reconnect") == 0
            and step["answered"] == step["sent"]
            and step["consistent"]
        )
        steps.append(step)
        s = step["status"]
        log(
            f"claims at {rate:g}/s: achieved {step['achieved_rps']:.0f}/s, p50 {step['p50_ms']:.1f} ms, "
            f"p99 {step['p99_ms']:.1f} ms; 201 × {s['201']}, 409 × {s['409']}, 5xx × {s['5xx']}; "
            f"{step['claims_created']} claims created, {step['double_claims']} double claims; "
            f"CPU per attempt: app {step['app_cpu_ms_per_attempt']:.2f} ms, database {step['db_cpu_ms_per_attempt']} ms; "
            f"generator {step['generator_cores']:.2f} cores, other work {step['others_cores']:.2f} cores, "
            f"machine {step['machine_cpu_busy']:.0%} busy"
        )
        if step["p99_ms"] > args.claim_stop_p99_ms or step["achieved_rps"] < 0.8 * rate:
            log("claim sweep: the server no longer keeps up; stopping")
            break
        time.sleep(1)
    best = max((step["rate"] for step in steps if step["passed"]), default=0.0)
    return {
        "pattern": list(CLAIM_PATTERN),
        "step_s": args.claim_step,
        "generator_processes": args.claim_procs,
        "taken_pool": len(taken),
        "warmup": warm,
        "steps": steps,
        "highest_rate_p99_under_target": best,
        # Slower steps that failed all the same (on a shared machine, a burst of other work).
        "failed_below_it": [step["rate"] for step in steps if step["rate"] < best and not step["passed"]],
        "double_claims": sum(s["double_claims"] for s in [warm, *steps]),
        "consistent": all(s["consistent"] for s in [warm, *steps]),
    }


# --- webhooks -----------------------------------------------------------------------------------


def bench_donations(engine) -> list[tuple[str, int, str]]:
    """(public id, amount in fen, currency) of the pending donations seed_bulk.py added."""
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT public_id, amount_fen, currency FROM donations "
                "WHERE name = :name AND status = 'pending' ORDER BY public_id"
            ),
            {"name": BENCH_DONOR},
        ).all()
    return [tuple(row) for row in rows]


def completed_body(public_id: str, amount_fen: int, currency: str, created: int) -> str:
    """A checkout.session.completed body as Stripe sends it for a paid Checkout Session."""
    return json.dumps(completed_event(public_id, amount_fen, currency, created), separators=(",", ":"))


def write_deliveries(donations: list[tuple[str, int, str]], copies: int, rng: random.Random, path: Path) -> list:
    """Every donation's event `copies` times, each delivery signed now (Stripe refuses
    signatures older than 300 s, and so does the app): one line per delivery, the
    Stripe-Signature header, a tab, the body.

    The deliveries are shuffled within blocks of WEBHOOK_BLOCK events, so the copies of an
    event arrive close together (often at the same moment on different connections) and
    the share of duplicates is the same however far into the list a run gets."""
    import stripe

    now = int(time.time())
    bodies = [completed_body(pid, amount, currency, now) for pid, amount, currency in donations]
    order = []
    for start in range(0, len(bodies), WEBHOOK_BLOCK):
        block = [i for i in range(start, min(start + WEBHOOK_BLOCK, len(bodies))) for _ in range(copies)]
        rng.shuffle(block)
        order += block
    deliveries = []
    for i in order:
        header = stripe.WebhookSignature.generate_signature_header(bodies[i], WEBHOOK_SECRET, timestamp=now)
        deliveries.append((header, bodies[i]))
    path.write_text("".join(f"{header}\t{body}\n" for header, body in deliveries))
    return deliveries


def fire_webhooks(url: str, path: Path, deliveries: list, seconds: float, args) -> dict:
    if args.wrk:
        script_args = [str(path), str(wrk_threads(args.connections))]
        result = run_wrk(url + "/stripe/webhook", seconds, args.connections, BENCH / "webhooks.lua", script_args)
    else:
        counter = iter(range(10**9))
        lock = threading.Lock()

        def delivery():
            with lock:
                n = next(counter)
            header, body = deliveries[n % len(deliveries)]
            return "POST", "/stripe/webhook", body, {"Stripe-Signature": header}

        result = PyClient(url, seconds, args.connections, delivery).run()
        result["wrapped"] = max(0, next(counter) - 1) // len(deliveries)
    return result


def webhook_db_figures(engine) -> dict:
    from sqlalchemy import text

    journals = "FROM ledger_journals j JOIN donations d ON d.id = j.donation_id WHERE d.name = :name"
    ours = "substr(event_id, 1, 10) = 'evt_bench_'"
    queries = {
        "bench_donations": "SELECT count(*) FROM donations WHERE name = :name",
        "donations_succeeded": "SELECT count(*) FROM donations WHERE name = :name AND status = 'succeeded'",
        "donations_pending": "SELECT count(*) FROM donations WHERE name = :name AND status = 'pending'",
        "events_stored": f"SELECT count(*) FROM payment_events WHERE {ours}",
        "events_applied": f"SELECT count(*) FROM payment_events WHERE {ours} AND outcome = 'applied'",
        "events_received": f"SELECT count(*) FROM payment_events WHERE {ours} AND outcome = 'received'",
        "payment_reviews": f"SELECT count(*) FROM payment_reviews WHERE {ours}",
        "succeeded_journals": f"SELECT count(*) {journals} AND j.source_key = :prefix || d.public_id || :suffix",
        "all_journals": f"SELECT count(*) {journals}",
        "donations_with_several_journals": "SELECT count(*) FROM (SELECT j.donation_id "
        f"{journals} GROUP BY j.donation_id HAVING count(*) > 1) AS doubled",
        "receipts": "SELECT count(receipt_no) FROM donations WHERE name = :name",
        "distinct_receipts": "SELECT count(DISTINCT receipt_no) FROM donations WHERE name = :name",
    }
    params = {"name": BENCH_DONOR, "prefix": "donation:", "suffix": ":succeeded"}
    with engine.connect() as conn:
        return {key: conn.scalar(text(sql), params) for key, sql in queries.items()}


def wait_for_applier(engine, timeout: float) -> bool:
    """Wait until the scheduler has applied every stored bench event; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if webhook_db_figures(engine)["events_received"] == 0:
            return True
        time.sleep(0.25)
    return False


class Scheduler:
    """`flask --app app scheduler`, the one process that applies stored events, as in production."""

    def __init__(self, env: dict, logfile: Path):
        self.log = logfile.open("w")
        self.proc = subprocess.Popen(
            [str(BIN / "flask"), "--app", "app", "scheduler"], cwd=ROOT, env=env, stdout=self.log, stderr=self.log
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        stop_process(self.proc)
        self.log.close()


def ledger_check(env: dict) -> dict:
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "app", "ledger", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    lines = (result.stdout + result.stderr).strip().splitlines()
    return {"exit_code": result.returncode, "last_lines": lines[-3:]}


def _webhook_phase(name, chunks, server_url, bare_url, engine, tmp, rng, args) -> dict:
    """Rounds of (bare route, webhook deliveries), each round on events of its own."""
    bare_runs, hook_runs = [], []
    share = args.duration / len(chunks)
    log(f"webhooks, {name.replace('_', ' ')}: {len(chunks)} rounds of {share:.1f} s")
    before = webhook_db_figures(engine)
    for r, chunk in enumerate(chunks):
        path = tmp / f"webhooks-{name}-{r}.txt"
        deliveries = write_deliveries(chunk, args.webhook_copies, rng, path)
        bare_runs.append(measure_once(bare_url, share, args))
        hook_runs.append(fire_webhooks(server_url, path, deliveries, share, args))
    at_end = webhook_db_figures(engine)
    result = merge_rounds(hook_runs)
    bare = merge_rounds(bare_runs)
    outcomes = result.get("outcomes", {})
    unique = sum(n for outcome, n in outcomes.items() if outcome != "duplicate")
    result.update(
        {
            "events": sum(len(c) for c in chunks),
            "bare_rps": bare["rps"],
            "bare_rps_by_round": bare["rps_by_round"],
            "ratio_to_bare": round(result["rps"] / bare["rps"], 3),
            "unique_answered": unique,
            "duplicates_answered": outcomes.get("duplicate", 0),
            "unique_per_s": round(unique / result["seconds"], 1),
            "events_stored_in_run": at_end["events_stored"] - before["events_stored"],
            "applied_while_receiving": at_end["events_applied"] - before["events_applied"],
            "backlog_at_end": at_end["events_received"],
        }
    )
    # Deliveries still in flight when the clock ran out finish on the server unseen.
    time.sleep(1)
    return result


def _drain(name: str, phase: dict, engine, args) -> None:
    """Wait for the scheduler to apply everything waiting, and note how fast it did."""
    waiting = webhook_db_figures(engine)["events_received"]
    started = time.perf_counter()
    phase["drained"] = wait_for_applier(engine, args.webhook_drain_timeout)
    drain_s = time.perf_counter() - started
    phase["drain_s"] = round(drain_s, 1)
    if name == "alone":
        # Everything waiting (the warm-up's events too) applied from a standing start.
        phase["applied_per_s"] = round(waiting / drain_s, 1) if drain_s > 0 else None
    else:
        phase["applied_per_s"] = round(phase["events_stored_in_run"] / (phase["seconds"] + drain_s), 1)
    log(
        f"webhooks, {name.replace('_', ' ')}: {phase['rps']:.0f} deliveries/s ({phase['ratio_to_bare']:.2f} of the bare "
        f"route), {phase['unique_per_s']:.0f} events/s; {phase['backlog_at_end']} waiting at the end, "
        f"applied {phase['drain_s']} s later"
    )


def measure_webhooks(server_url: str, bare_url: str, engine, env: dict, tmp: Path, args) -> dict:
    """Signed checkout.session.completed events, each delivered several times, at
    `POST /stripe/webhook`, in rounds interleaved with the bare route.

    Phase "alone": no scheduler runs, so the figure is the endpoint's own rate; then the
    scheduler starts, and the time it takes to apply the backlog gives the applier's rate.
    Phase "with the applier": the same while the scheduler applies events as they arrive.
    Then the database must hold one succeeded donation and one journal per event, and
    `flask ledger check` must pass."""
    donations = bench_donations(engine)
    warm, measured = donations[: args.webhook_warmup_events], donations[args.webhook_warmup_events :]
    rounds = max(1, args.rounds)
    half = len(measured) // 2
    phases = ("alone", "with_applier")
    per_round = max(1, half // rounds)
    chunks = {
        name: [events[i * per_round : (i + 1) * per_round] for i in range(rounds)]
        for name, events in zip(phases, (measured[:half], measured[half:]), strict=True)
    }
    rng = random.Random(11)
    log(
        f"webhooks: {len(measured)} events × {args.webhook_copies} deliveries in two phases of {rounds} rounds, "
        f"interleaved with the bare route, shuffled in blocks of {WEBHOOK_BLOCK} events, signed just before each round; "
        f"warm-up {args.warmup} s on {len(warm)} other events; {args.connections} connections"
    )
    if args.warmup > 0 and warm:
        path = tmp / "webhooks-warmup.txt"
        fire_webhooks(server_url, path, write_deliveries(warm, args.webhook_copies, rng, path), args.warmup, args)
    result: dict = {"copies": args.webhook_copies, "block": WEBHOOK_BLOCK, "warmup_events": len(warm)}
    result["alone"] = _webhook_phase("alone", chunks["alone"], server_url, bare_url, engine, tmp, rng, args)
    # No scheduler ran so far; from here on it does, as in production.
    with Scheduler(env, tmp / "scheduler.log"):
        _drain("alone", result["alone"], engine, args)
        result["with_applier"] = _webhook_phase(
            "with_applier", chunks["with_applier"], server_url, bare_url, engine, tmp, rng, args
        )
        _drain("with_applier", result["with_applier"], engine, args)

    check_started = time.perf_counter()
    result["ledger_check"] = ledger_check(env)
    result["ledger_check"]["seconds"] = round(time.perf_counter() - check_started, 1)
    a = result["database_after"] = webhook_db_figures(engine)
    result["double_posted_journals"] = a["donations_with_several_journals"] + max(
        0, a["all_journals"] - a["donations_succeeded"]
    )
    non_200 = sum(n for phase in phases for status, n in result[phase].get("statuses", {}).items() if status != "200")
    result["non_200"] = non_200
    result["consistent"] = (
        non_200 == 0
        and all(result[phase]["drained"] for phase in phases)
        and a["donations_succeeded"] == a["events_stored"] == a["events_applied"]
        and a["succeeded_journals"] == a["all_journals"] == a["donations_succeeded"]
        and a["donations_with_several_journals"] == 0
        and a["receipts"] == a["distinct_receipts"] == a["donations_succeeded"]
        and a["payment_reviews"] == 0
        and all(
            0 <= result[phase]["events_stored_in_run"] - result[phase]["unique_answered"] <= args.connections * rounds
            for phase in phases
        )
        and result["ledger_check"]["exit_code"] == 0
    )
    return result


# --- the run ------------------------------------------------------------------------------------


def default_settings(args) -> dict:
    """The tuned setting the app is served with: threaded workers, two per core."""
    cores = os.cpu_count() or 1
    return {
        "workers": args.workers or 2 * cores,
        "worker_class": args.worker_class,
        "threads": args.threads,
    }


def sync_settings(args) -> dict:
    """Plain `gunicorn -w 2`: sync workers, one request at a time each, no keep-alive."""
    return {"workers": args.sync_workers, "worker_class": "sync", "threads": 1}


def claim_sweep_settings(args) -> list[tuple[str, dict]]:
    """The claim sweep's settings: gthread with one worker a core (tuned), then `gunicorn -w 2` (plain)."""
    tuned = {
        "workers": args.claim_workers or os.cpu_count() or 1,
        "worker_class": "gthread",
        "threads": args.claim_threads,
    }
    return [("claims", tuned)] + ([("claims_sync", sync_settings(args))] if args.sync else [])


def app_env(database_url: str, tmp: Path) -> dict:
    # No STRIPE_SECRET_KEY: nothing in the bench may talk to Stripe; the webhook secret is the bench's own.
    dropped = ("TEST_DATABASE_URL", "REDIS_URL", "STRIPE_SECRET_KEY", "STRIPE_API_BASE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        {
            "DATABASE_URL": database_url,
            "RATELIMIT_ENABLED": "0",
            # One load generator on one address stands for thousands of donors: no caps per person or address.
            "CLAIM_MAX_ACTIVE_PER_CONTACT": "0",
            "CLAIM_MAX_ACTIVE_PER_CLIENT": "0",
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "bench-only-secret",
            "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
            "UPLOAD_FOLDER": str(tmp / "uploads"),
            "FLASK_APP": "app",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def db_figures(engine) -> dict:
    from sqlalchemy import text

    with engine.connect() as conn:
        return {
            "claims": conn.scalar(text("SELECT count(*) FROM claims")),
            "active_claims": conn.scalar(text("SELECT count(*) FROM claims WHERE status = 'active'")),
            "wishes_with_several_active_claims": conn.scalar(
                text(
                    "SELECT count(*) FROM (SELECT wish_id FROM claims WHERE status = 'active' "
                    "GROUP BY wish_id HAVING count(*) > 1) AS doubled"
                )
            ),
            "claimed_wishes_without_one_active_claim": conn.scalar(
                text(
                    "SELECT count(*) FROM wishes w WHERE w.status = 'claimed' AND "
                    "(SELECT count(*) FROM claims c WHERE c.wish_id = w.id AND c.status = 'active') <> 1"
                )
            ),
            "claimed_wishes": conn.scalar(text("SELECT count(*) FROM wishes WHERE status = 'claimed'")),
        }


def check_pages(url: str, expect_wishes: int) -> dict:
    with urllib.request.urlopen(url + "/", timeout=10) as r:
        page = r.read()
        if r.status != 200 or b"<html" not in page:
            raise SystemExit(f"GET / answered {r.status}")
        etag = r.headers.get("ETag")
    with urllib.request.urlopen(url + "/api/v1/wishes", timeout=10) as r:
        body = json.loads(r.read())
    if body.get("total", 0) < expect_wishes or len(body.get("items", [])) == 0:
        raise SystemExit(f"the list API shows {body.get('total')} wishes, expected at least {expect_wishes}")
    return {"list_page_bytes": len(page), "api_total": body["total"], "list_etag": etag}


def check_freshness(url: str, times: int = 20) -> dict:
    """Claim the newest wish and look at both lists at once, again and again, so that the
    requests land on different workers: a claimed wish must never be listed as open."""
    stale = 0
    for _ in range(times):
        with urllib.request.urlopen(url + "/api/v1/wishes?per_page=3", timeout=10) as r:
            wish = json.loads(r.read())["items"][0]["id"]
        claim = urllib.request.Request(
            url + f"/api/v1/wishes/{wish}/claim",
            data=json.dumps({"name": "freshness", "contact": "13800001234"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(claim, timeout=10) as r:
            if r.status != 201:
                raise SystemExit(f"the freshness claim answered {r.status}")
        for path in ("/api/v1/wishes?per_page=3", "/"):
            with urllib.request.urlopen(url + path, timeout=10) as r:
                stale += wish in r.read().decode()
    return {"claims": times, "stale_answers": stale}


def measure_gets(settings: dict, env: dict, tmp: Path, args, label: str, app_server=None) -> dict:
    """The GET rounds under one gunicorn setting: the bare route, both lists (cached), the
    conditional GET, and the app floor and both lists with the response cache off. Every
    ratio is to the bare route served with the same setting in the same rounds."""
    uncached_spec = 'floor_app:make({"RESPONSE_CACHE": False})'
    with contextlib.ExitStack() as stack:
        bare = stack.enter_context(Server("bare_app:app", env, settings, tmp / f"bare-{label}.log", pythonpath=BENCH))
        server = app_server or stack.enter_context(Server("app:create_app()", env, settings, tmp / f"app-{label}.log"))
        plain = (
            stack.enter_context(Server(uncached_spec, env, settings, tmp / f"uncached-{label}.log", pythonpath=BENCH))
            if args.uncached
            else None
        )
        bare.wait_ready("/")
        server.wait_ready("/healthz")
        checks = check_pages(server.url, args.wishes)
        targets = {
            "bare": (bare.url + "/", []),
            "list_page": (server.url + "/", []),
            "list_api": (server.url + "/api/v1/wishes", []),
        }
        if checks.get("list_etag") and not args.skip_conditional:
            targets["list_page_304"] = (server.url + "/", [f"If-None-Match: {checks['list_etag']}"])
        if plain is not None:
            plain.wait_ready("/healthz")
            targets["app_floor"] = (plain.url + "/_bench/floor", [])
            targets["list_page_uncached"] = (plain.url + "/", [])
            targets["list_api_uncached"] = (plain.url + "/api/v1/wishes", [])
        log(
            f"GET measurements, {label}: {settings['workers']} workers, {settings['worker_class']}, "
            f"{settings['threads']} threads; {args.connections} connections: " + ", ".join(targets)
        )
        results = measure_interleaved(targets, args)
    for name in targets:
        if name != "bare":
            results[name]["ratio_to_bare"] = round(results[name]["rps"] / results["bare"]["rps"], 3)
    results["gunicorn"] = {**settings, "backlog": 2048, "access_log": False}
    return results


def run(args) -> dict:
    from sqlalchemy import create_engine

    tmp = Path(tempfile.mkdtemp(prefix="weixinyuan-bench-"))
    try:
        if args.postgres:
            reset_postgres(args.postgres)
            database_url = args.postgres
            backend = "postgresql"
        else:
            database_url = f"sqlite:///{tmp / 'bench.db'}"
            backend = "sqlite"
        safe_url = database_url.split("@")[-1] if "@" in database_url else database_url
        log(f"database: {backend} ({safe_url}); work directory {tmp}")
        env = app_env(database_url, tmp)
        ensure_translations(env)
        run_step([str(BIN / "flask"), "--app", "app", "db", "upgrade"], env, "flask db upgrade")
        run_step([str(BIN / "flask"), "--app", "app", "seed-demo"], env, "flask seed-demo")
        n_donations = args.webhook_events + args.webhook_warmup_events if args.webhooks else 0
        run_step(
            [
                sys.executable,
                str(BENCH / "seed_bulk.py"),
                "--wishes",
                str(args.wishes),
                "--donations",
                str(n_donations),
            ],
            env,
            f"bulk insert of {args.wishes} wishes and {n_donations} pending donations",
        )

        engine = create_engine(sqlalchemy_url(database_url))
        settings = default_settings(args)
        results: dict = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": backend,
            "published_wishes": len(open_wish_ids(engine)),
            "cores": os.cpu_count(),
            "gunicorn": {**settings, "backlog": 2048, "access_log": False},
            "env": {"RATELIMIT_ENABLED": "0", "LOG_LEVEL": "WARNING"},
            "load_generator": "wrk" if args.wrk else "python-threaded",
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "get_connections": args.connections,
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        }

        log(
            f"gunicorn: {settings['workers']} workers, {settings['worker_class']}, {settings['threads']} threads; "
            "LOG_LEVEL=WARNING, RATELIMIT_ENABLED=0"
        )
        with Server("app:create_app()", env, settings, tmp / "app.log") as server:
            server.wait_ready("/healthz")
            results["freshness"] = check_freshness(server.url)
            log(
                f"freshness: {results['freshness']['claims']} claims, {results['freshness']['stale_answers']} stale list answers"
            )
            results["checks"] = check_pages(server.url, args.wishes)
            results.update(measure_gets(settings, env, tmp, args, "tuned", app_server=server))
            if args.sync:
                results["sync"] = measure_gets(sync_settings(args), env, tmp, args, "sync")

            if args.webhooks:
                with Server("bare_app:app", env, settings, tmp / "bare-webhooks.log", pythonpath=BENCH) as bare:
                    bare.wait_ready("/")
                    results["webhooks"] = w = measure_webhooks(server.url, bare.url + "/", engine, env, tmp, args)
                for phase in ("alone", "with_applier"):
                    # As the foundation benchmark reported it: against the bare route of the GET rounds.
                    w[phase]["ratio_to_bare_get_rounds"] = round(w[phase]["rps"] / results["bare"]["rps"], 3)
                log(
                    f"webhooks: {w['double_posted_journals']} double-posted journals, "
                    f"ledger check exit {w['ledger_check']['exit_code']}"
                )

            if args.claims:
                # Its own server: one worker a core (claim attempts wait on the database, so threads
                # help; more processes than cores only trade places on them), then plain sync workers.
                for key, claim_settings in claim_sweep_settings(args):
                    label = f"{claim_settings['workers']} workers, {claim_settings['worker_class']}, {claim_settings['threads']} threads"
                    log(f"claim sweep under gunicorn {label}")
                    with Server("app:create_app()", env, claim_settings, tmp / f"app-{key}.log") as claim_server:
                        claim_server.wait_ready("/healthz")
                        results[key] = measure_claim_sweep(claim_server, engine, tmp, args)
                    results[key]["settings"] = claim_settings
            tail = (
                (tmp / "app.log").read_text(errors="replace").strip().splitlines()[-5:]
                if (tmp / "app.log").exists()
                else []
            )
            results["app_log_tail"] = tail
        engine.dispose()
        results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        return results
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def print_gets(r: dict, g: dict, title: str) -> None:
    def row(name: str, m: dict, ratio=True) -> str:
        ratio_text = f"{m['ratio_to_bare']:.3f}" if ratio and "ratio_to_bare" in m else "-"
        errors = sum(m["errors"].values())
        return f"{name:<34}{m['rps']:>10.1f}{ratio_text:>8}{m['p50_ms']:>10.1f}{m['p99_ms']:>10.1f}{errors:>8}"

    s = g["gunicorn"]
    print()
    print(
        f"{title}: gunicorn {s['workers']} workers × {s['threads']} threads ({s['worker_class']}) for every app; "
        f"ratios to the bare route under the same setting"
    )
    print(f"{'':<34}{'req/s':>10}{'ratio':>8}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    print(row(f"bare Flask 'ok' ({r['get_connections']} conns)", g["bare"], ratio=False))
    lp, la = g["list_page"], g["list_api"]
    print(row("GET / (public list page)", lp) + ("  ok" if lp["ratio_to_bare"] >= LIST_TARGET else "  BELOW 0.5"))
    print(row("GET /api/v1/wishes", la) + ("  ok" if la["ratio_to_bare"] >= LIST_TARGET else "  BELOW 0.5"))
    if "list_page_304" in g:
        print(row("GET / If-None-Match (304)", g["list_page_304"]))
    if "list_page_uncached" in g:
        print(row("app floor: 'ok' route in the app", g["app_floor"]))
        u = g["list_page_uncached"]
        print(
            row("GET / uncached (cache off)", u)
            + ("  ok" if u["ratio_to_bare"] >= UNCACHED_TARGET else f"  BELOW {UNCACHED_TARGET}")
        )
        print(row("GET /api/v1/wishes, cache off", g["list_api_uncached"]))


def claim_verdict(step: dict) -> str:
    if not step["consistent"]:
        return "INCONSISTENT"
    if step["passed"]:
        return "ok"
    if step["status"]["5xx"] or step["status"]["other"] or step["answered"] != step["sent"]:
        return "ERRORS"
    return f"p99 over {CLAIM_P99_TARGET_MS} ms"


def print_claims(c: dict) -> None:
    settings = c.get("settings", {})
    print()
    print(
        f"claim sweep (open loop) under gunicorn {settings.get('workers')} workers, {settings.get('worker_class')}, "
        f"{settings.get('threads')} threads: "
        f"POST /api/v1/wishes/<id>/claim at fixed rates, {c['step_s']:g} s a step, sent on "
        f"schedule by {c['generator_processes']} processes whatever the answers; latency from the scheduled send time. "
        f"Every group of four attempts: {', '.join(c['pattern'])} (a fresh wish, the same wish again at once, and two "
        f"of {c['taken_pool']} wishes taken before the sweep)"
    )
    print(
        f"{'rate/s':>7}{'achieved':>9}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'201':>6}{'409':>6}{'5xx':>5}"
        f"{'err':>4}{'claims':>7}{'double':>7}{'taken p99':>10}{'app ms':>8}{'db ms':>7}{'gen':>6}{'others':>7}{'busy':>6}"
    )
    for s in c["steps"]:
        st = s["status"]
        errors = sum(v for k, v in s["errors"].items() if k != "reconnect") + st["other"]
        taken = s["by_kind"].get("taken", {}).get("p99_ms", 0.0)
        print(
            f"{s['rate']:>7g}{s['achieved_rps']:>9.1f}{s['p50_ms']:>8.1f}{s['p99_ms']:>8.1f}{s['max_ms']:>8.1f}"
            f"{st['201']:>6}{st['409']:>6}{st['5xx']:>5}{errors:>4}{s['claims_created']:>7}{s['double_claims']:>7}"
            f"{taken:>10.1f}{s['app_cpu_ms_per_attempt']:>8.2f}"
            + (f"{s['db_cpu_ms_per_attempt']:>7.2f}" if s["db_cpu_ms_per_attempt"] is not None else f"{'-':>7}")
            + f"{s['generator_cores']:>6.2f}{s['others_cores']:>7.2f}{s['machine_cpu_busy']:>6.0%}  {claim_verdict(s)}"
        )
    print(
        "  app ms / db ms: CPU time of the gunicorn processes / of our database's PostgreSQL backends per answered "
        "attempt; gen, others: cores taken by the load generator / by other work on the machine; busy: the whole machine"
    )
    best = c["highest_rate_p99_under_target"]
    verdict = "target met" if best >= CLAIM_RATE_TARGET else "BELOW the target"
    failed = c["failed_below_it"]
    print(
        f"  highest rate with p99 < {CLAIM_P99_TARGET_MS} ms, no 5xx, no double claim: {best:g} attempts/s "
        f"(target ≥ {CLAIM_RATE_TARGET} on PostgreSQL: {verdict})"
        + (f"; slower steps that did not pass: {', '.join(f'{x:g}/s' for x in failed)}" if failed else "")
    )
    print(
        f"  database after every step: claims created = 201 answers, at most one active claim per wish; "
        f"double claims in all: {c['double_claims']} ({'consistent' if c['consistent'] else 'INCONSISTENT'})"
    )


def print_table(r: dict) -> None:
    def row(name: str, m: dict) -> str:
        ratio_text = f"{m['ratio_to_bare']:.3f}" if "ratio_to_bare" in m else "-"
        errors = sum(m["errors"].values())
        return f"{name:<34}{m['rps']:>10.1f}{ratio_text:>8}{m['p50_ms']:>10.1f}{m['p99_ms']:>10.1f}{errors:>8}"

    print()
    print(f"微心愿 benchmark — {r['database']}, {r['published_wishes']} published wishes, {r['when']}")
    print(f"LOG_LEVEL=WARNING, RATELIMIT_ENABLED=0, no access log; {r['cores']} cores")
    print(
        f"load generator: {r['load_generator']}; {r['duration_s']} s per GET measurement in {r['rounds']} interleaved rounds "
        f"after {r['warmup_s']} s warm-up (p99 = worst round)"
    )
    print(
        f"load average at start {r['loadavg_start']}, at end {r['loadavg_end']} (other work on the machine skews the figures)"
    )
    print_gets(r, r, "GET, tuned setting")
    if "sync" in r:
        print_gets(r, r["sync"], "GET, plain sync workers (gunicorn -w 2)")
    print()
    for label, g in (("tuned", r), ("sync", r.get("sync"))):
        if g and "list_page_uncached" in g:
            print(
                f"uncached list page ({label}): {g['list_page_uncached']['ratio_to_bare']:.3f} of the bare route "
                f"(target for the list work: ≥ {UNCACHED_TARGET})"
            )
    f = r["freshness"]
    print(
        f"freshness: {f['claims']} claims each followed at once by GET of both lists: {f['stale_answers']} stale answers"
    )
    w = r.get("webhooks")
    if w:
        print()
        for name, label in (("alone", "POST /stripe/webhook"), ("with_applier", "  … while the scheduler applies")):
            print(
                row(label, w[name])
                + ("  ok" if w[name]["ratio_to_bare"] >= WEBHOOK_TARGET else f"  BELOW {WEBHOOK_TARGET}")
            )
        d = w["database_after"]
        print(
            f"webhooks: checkout.session.completed events × {w['copies']} deliveries each, shuffled in blocks of "
            f"{w['block']} events, signed just before each round; {r['rounds']} rounds per phase, each round the bare "
            f"route then deliveries of events of its own; warm-up on {w['warmup_events']} other events"
        )
        for name, label in (("alone", "the endpoint alone"), ("with_applier", "with the scheduler applying")):
            p = w[name]
            print(
                f"  {label}: {p['requests']} deliveries in {p['seconds']} s = {p['rps']:.1f}/s, "
                f"{p['ratio_to_bare']:.3f} of the bare route's {p['bare_rps']:.0f}/s in the same rounds "
                f"(by round: {', '.join(f'{x:.0f}' for x in p['rps_by_round'])} against "
                f"{', '.join(f'{x:.0f}' for x in p['bare_rps_by_round'])}), "
                f"{p['ratio_to_bare_get_rounds']:.3f} of its {r['bare']['rps']:.0f}/s in the GET rounds; "
                f"{p['unique_answered']} first deliveries = {p['unique_per_s']:.1f} events/s, "
                f"{p['duplicates_answered']} answered as duplicates"
                + (f"; the lists ran out {p['wrapped']} times" if p.get("wrapped") else "")
            )
            print(
                f"    p50 {p['p50_ms']:.1f} ms, p90 {p['p90_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms, max {p['max_ms']:.1f} ms; "
                "statuses: "
                + ", ".join(f"{k} × {n}" for k, n in sorted(p.get("statuses", {}).items()))
                + "; outcomes: "
                + ", ".join(f"{k} × {n}" for k, n in sorted(p.get("outcomes", {}).items()))
            )
            print(
                f"    applied: {p['applied_while_receiving']} while receiving, {p['backlog_at_end']} waiting when the "
                f"deliveries stopped, all applied {p['drain_s']:.1f} s later"
                + ("" if p["drained"] else " (NOT DRAINED)")
                + f"; {p['applied_per_s']} events/s applied"
            )
        print(
            f"  database afterwards ({d['bench_donations']} bench donations, warm-up included): "
            f"{d['events_stored']} events stored, {d['events_applied']} applied; {d['donations_succeeded']} donations "
            f"succeeded; {d['succeeded_journals']} 'donation:…:succeeded' journals ({d['all_journals']} journals in all); "
            f"{d['distinct_receipts']} distinct receipt numbers; {d['payment_reviews']} reviews"
        )
        lc = w["ledger_check"]
        print(
            f"  double-posted journals: {w['double_posted_journals']}; `flask ledger check` exit {lc['exit_code']} "
            f"({lc['last_lines'][-1] if lc['last_lines'] else ''}); "
            f"{'consistent' if w['consistent'] else 'INCONSISTENT'}"
        )
        applier = w["alone"]["applied_per_s"]
        print(
            f"applier: {applier} events/s (the backlog of the first phase applied from a standing start; "
            f"target ≥ {APPLIER_TARGET} events/s on PostgreSQL"
            + (": met" if applier and applier >= APPLIER_TARGET else ": BELOW")
            + f"); {w['with_applier']['applied_per_s']} events/s while deliveries keep arriving"
        )
    for key in ("claims", "claims_sync"):
        if key in r:
            print_claims(r[key])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("BENCH_DATABASE_URL", ""),
        help="PostgreSQL database of the bench's own (its schema is dropped); default $BENCH_DATABASE_URL",
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up before each GET measurement")
    parser.add_argument("--connections", type=int, default=50, help="concurrent connections for the GET measurements")
    parser.add_argument(
        "--claims", action=argparse.BooleanOptionalAction, default=True, help="run the claim sweep (default: on)"
    )
    parser.add_argument(
        "--claim-rates",
        type=lambda text: [float(x) for x in text.split(",")],
        default=[100, 200, 300, 400, 500, 600, 700, 800, 1000],
        help="claim attempts per second, one step each, in order (default 100,200,…,800,1000)",
    )
    parser.add_argument("--claim-step", type=float, default=5, help="seconds per claim rate (default 5)")
    parser.add_argument("--claim-warmup-rate", type=float, default=100, help="claim attempts/s of the warm-up")
    parser.add_argument(
        "--claim-stop-p99-ms", type=float, default=1000, help="stop the sweep after a step with a p99 above this"
    )
    parser.add_argument("--claim-procs", type=int, default=2, help="processes sending claim attempts (default 2)")
    parser.add_argument(
        "--claim-workers", type=int, default=0, help="gthread workers for the claim sweep (default: cores)"
    )
    parser.add_argument(
        "--claim-threads", type=int, default=4, help="threads per worker for the claim sweep (default 4)"
    )
    parser.add_argument(
        "--claim-connections", type=int, default=16, help="keep-alive connections opened before each step, in all"
    )
    parser.add_argument("--wishes", type=int, default=10_000, help="published wishes to add to the demo data")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default 2 × cores)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (default 4)")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (default gthread)")
    parser.add_argument(
        "--sync",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure the GETs under plain sync workers (default: on)",
    )
    parser.add_argument("--sync-workers", type=int, default=2, help="sync workers for that measurement (default 2)")
    parser.add_argument(
        "--python-client", action="store_true", help="use the threaded Python client even if wrk is there"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="GET measurements are split into this many interleaved rounds"
    )
    parser.add_argument("--skip-conditional", action="store_true", help="skip the If-None-Match measurement")
    parser.add_argument(
        "--uncached",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure the list page and API with the response cache off (default: on)",
    )
    parser.add_argument(
        "--webhooks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure POST /stripe/webhook with signed checkout.session.completed events (default: on)",
    )
    parser.add_argument(
        "--webhook-events", type=int, default=36000, help="distinct events (pending donations) for the webhook run"
    )
    parser.add_argument(
        "--webhook-drain-timeout", type=float, default=300, help="seconds to wait for the scheduler to apply them"
    )
    parser.add_argument("--webhook-copies", type=int, default=3, help="deliveries of every event, shuffled")
    parser.add_argument(
        "--webhook-warmup-events", type=int, default=200, help="distinct events of their own for the webhook warm-up"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, logs)")
    args = parser.parse_args()  # fmt: skip

    args.wrk = bool(shutil.which("wrk")) and not args.python_client
    if not shutil.which("wrk"):
        log("wrk is not installed: install it with `apt-get install -y wrk` (Debian/Ubuntu).")
        log("Falling back to a threaded Python client: its figures are NOT comparable with wrk's.")
    results = run(args)
    print_table(results)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "latest.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    print(f"\nwritten to {(OUT / 'latest.json').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
