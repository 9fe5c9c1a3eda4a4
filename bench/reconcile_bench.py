"""Reconciling N Stripe balance transactions against N donations: time, peak memory, growth.

    .venv/bin/python bench/reconcile_bench.py                # 10,000 then 100,000
    .venv/bin/python bench/reconcile_bench.py --sizes 20000  # other sizes

For each size, in a fresh SQLite database (migrated, N succeeded card donations inserted in
bulk) a child process runs what `flask --app app reconcile stripe` runs (reconcile.services.
run_stripe: page through Stripe's balance transactions 100 at a time, match, post every fee,
store the run) against a fake Stripe in another process serving N charge rows, each with a
fee, and 1 in 1,000 of them off by one fen. It prints the run's wall and CPU time, a second run
of the same period (every fee posted already), the child's peak resident memory (ru_maxrss),
the pure matching on its own, the ratio of times between the sizes (linear growth is a ratio
equal to the ratio of sizes), and beside them the machine's baseline (bench/calibrate.py).
"""

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import calibrate  # noqa: E402

BATCH = 5000


def serve_fake_stripe(rows_path: str, port_queue) -> None:
    """GET /v1/balance_transactions over the rows in a JSON file, newest first, 100 a page.

    Keep-alive, as Stripe's API does (a new connection per page would measure the handshake):
    a plain HTTP/1.1 handler, since werkzeug's development server closes every connection. Each
    row is encoded once, so a page costs the server a join, not a `json.dumps`."""
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from urllib.parse import parse_qs, urlsplit

    rows = json.loads(Path(rows_path).read_text())
    rows.sort(key=lambda r: (r["created"], r["id"]), reverse=True)
    position = {row["id"]: n for n, row in enumerate(rows)}
    encoded = [json.dumps(row).encode() for row in rows]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self):  # noqa: N802 (http.server's name)
            args = {key: values[-1] for key, values in parse_qs(urlsplit(self.path).query).items()}
            limit = int(args.get("limit", 10))
            start = position[args["starting_after"]] + 1 if "starting_after" in args else 0
            has_more = "true" if start + limit < len(rows) else "false"
            body = (
                b'{"object": "list", "has_more": '
                + has_more.encode()
                + b', "data": ['
                + b", ".join(encoded[start : start + limit])
                + b'], "url": "/v1/balance_transactions"}'
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 (http.server's name)
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_port)
    server.serve_forever()


def prepare(n: int, workdir: Path) -> tuple[str, str]:
    """A migrated SQLite database with N succeeded card donations, and the N Stripe rows for them."""
    db_path = workdir / f"reconcile-{n}.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "LOG_LEVEL": "WARNING"}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    code = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
from datetime import UTC, datetime
from sqlalchemy import insert
from app import create_app
from core.extensions import db
from funds.models import Donation, Fund
app = create_app()
with app.app_context():
    fund = Fund(slug="bench", name="bench")
    db.session.add(fund)
    db.session.commit()
    now = datetime.now(UTC)
    for start in range(0, {n}, {BATCH}):
        batch = []
        for i in range(start, min(start + {BATCH}, {n})):
            batch.append(dict(public_id=f"bench{{i:012d}}", amount_fen=1000 + i % 5000, currency="CNY", fund_id=fund.id,
                name="bench", contact="bench@example.org", channel="card", status="succeeded",
                payment_intent_id=f"pi_bench{{i}}", receipt_no=f"2000-{{i + 1:06d}}", created_at=now, succeeded_at=now))
        db.session.execute(insert(Donation), batch)
    db.session.commit()
created = int(now.timestamp())
stripe_rows = []
for i in range({n}):
    amount = 1000 + i % 5000 + (1 if i % 1000 == 999 else 0)
    stripe_rows.append({{"id": f"txn_{{i:09d}}", "object": "balance_transaction", "amount": amount, "fee": 30 + i % 7,
        "net": amount - 30 - i % 7, "currency": "cny", "created": created - i % 3600, "reporting_category": "charge",
        "type": "payment", "source": {{"id": f"ch_{{i}}", "object": "charge", "payment_intent": f"pi_bench{{i}}",
        "metadata": {{"donation_id": f"bench{{i:012d}}"}}}}}})
open({str(workdir / f"rows-{n}.json")!r}, "w").write(json.dumps(stripe_rows))
"""
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    return str(db_path), str(workdir / f"rows-{n}.json")


def measure(db_path: str, stripe_url: str, result_queue) -> None:
    """In a process of its own: the run, then the pure matching again, with peak memory."""
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["LOG_LEVEL"] = "WARNING"
    from app import create_app
    from core.extensions import db
    from payments import balance
    from reconcile import matching, services

    app = create_app({"STRIPE_SECRET_KEY": "sk_test_bench", "STRIPE_API_BASE": stripe_url})
    with app.app_context():
        base = calibrate.baseline()
        started, cpu = time.perf_counter(), time.process_time()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            run = profile.runcall(services.run_stripe, "bench")
            pstats.Stats(profile).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(45)
        else:
            run = services.run_stripe("bench")
        db.session.commit()
        run_seconds, run_cpu = time.perf_counter() - started, time.process_time() - cpu
        items, matched, fees = len(run.items), run.matched, run.fees_posted
        # The same period again, as a fund administrator may run it: every fee is posted already.
        started, cpu = time.perf_counter(), time.process_time()
        again = services.run_stripe("bench")
        db.session.commit()
        rerun_seconds, rerun_cpu = time.perf_counter() - started, time.process_time() - cpu
        assert again.fees_posted == 0 and again.matched == matched
        rows = list(balance.fetch())
        donations = services.ledger_donations(None, None)
        started = time.perf_counter()
        matching.match(donations, rows, {})
        match_seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result_queue.put(
        {
            "baseline_s": base,
            "run_s": round(run_seconds, 2),
            "run_cpu_s": round(run_cpu, 2),
            "rerun_s": round(rerun_seconds, 2),
            "rerun_cpu_s": round(rerun_cpu, 2),
            "match_s": round(match_seconds, 3),
            "peak_mb": round(peak_mb),
            "matched": matched,
            "items": items,
            "fees_posted": fees,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            db_path, rows_path = prepare(n, Path(tmp))
            ports = multiprocessing.Queue()
            server = multiprocessing.Process(target=serve_fake_stripe, args=(rows_path, ports), daemon=True)
            server.start()
            url = f"http://127.0.0.1:{ports.get(timeout=120)}"
            out = multiprocessing.Queue()
            child = multiprocessing.Process(target=measure, args=(db_path, url, out))
            child.start()
            results[n] = out.get(timeout=1800)
            child.join()
            server.terminate()
            print(f"{n:>8} rows: {json.dumps(results[n])}", flush=True)
    sizes = sorted(results)
    for small, large in zip(sizes, sizes[1:], strict=False):
        ratio = results[large]["run_s"] / max(results[small]["run_s"], 1e-9)
        cpu = results[large]["run_cpu_s"] / max(results[small]["run_cpu_s"], 1e-9)
        print(f"time {large}/{small}: x{ratio:.1f} (CPU x{cpu:.1f}) for x{large / small:.0f} the rows")


if __name__ == "__main__":
    main()
