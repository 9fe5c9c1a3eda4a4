"""Search latency with many published wishes: `GET /api/v1/wishes?q=…` and `GET /?q=…`, uncached.

    .venv/bin/python bench/search.py                       # a temporary SQLite file, 100,000 wishes
    .venv/bin/python bench/search.py --postgres postgresql://postgres@127.0.0.1:5432/bench_search

Builds a fresh database (migrations, demo data, then the wishes in bulk with their search
terms), and times each query in-process through the app (the server's time, no network),
with the response cache off so that every request searches. Queries are asked in interleaved
rounds, with the unfiltered list as the baseline of each round. Prints p50 and p95 per query
and the ratio of each query's median to the baseline's; the target is p95 < 50 ms.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import reset_postgres, sqlalchemy_url  # noqa: E402
from seed_bulk import refresh_statistics, seed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET_P95_MS = 50

#: (label, query): common and rare words, one character, a phrase, Latin, several words, nothing.
QUERIES = [
    ("two characters, common", "书包"),
    ("two characters, rare", "海豚"),
    ("one character", "鞋"),
    ("a phrase", "护眼台灯"),
    ("two words", "冬天 棉鞋"),
    ("no match", "飞机模型"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wishes", type=int, default=100_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL whose database name contains 'bench'")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="measure the PostgreSQL database of the last run again")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="weixinyuan-search-"))
    url = sqlalchemy_url(args.postgres) if args.postgres else f"sqlite:///{workdir / 'search.db'}"
    fresh = not (args.postgres and args.reuse)
    if fresh and args.postgres:
        reset_postgres(args.postgres)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-search-only-" + "x" * 32, "FLASK_APP": "app"}
    for step in (["db", "upgrade"], ["seed-demo"]) if fresh else ():
        subprocess.run([str(BIN / "flask"), *step], cwd=ROOT, env=env, check=True, capture_output=True)
    os.environ.update(env)

    from app import create_app

    app = create_app({"RESPONSE_CACHE": False, "RATELIMIT_ENABLED": False})
    if fresh:
        with app.app_context():
            started = time.perf_counter()
            result = seed(args.wishes, 2_000, random.Random(7))
            refresh_statistics()
            database = app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0]
            print(f"seeded {result['wishes']} wishes in {time.perf_counter() - started:.0f} s on {database}")
    else:
        print("measuring the database of the last run")

    client = app.test_client()
    cases = [("baseline: the list, no search", "")] + QUERIES
    times: dict[str, list[float]] = {label: [] for label, _q in cases}
    totals: dict[str, int] = {}
    for _round in range(args.rounds):
        for label, q in cases:
            params = {"q": q} if q else {}
            begun = time.perf_counter()
            response = client.get("/api/v1/wishes", query_string=params)
            times[label].append((time.perf_counter() - begun) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
            totals[label] = response.get_json()["total"]
    page_times = []
    for _round in range(args.rounds):
        begun = time.perf_counter()
        assert client.get("/", query_string={"q": "书包"}).status_code == 200
        page_times.append((time.perf_counter() - begun) * 1000)

    base = statistics.median(times[cases[0][0]])
    print(f"\n{'query':34} {'matches':>8} {'p50 ms':>8} {'p95 ms':>8} {'× list':>8}")
    worst = 0.0
    for label, q in cases:
        values = sorted(times[label])
        p50, p95 = statistics.median(values), values[int(0.95 * (len(values) - 1))]
        if q:
            worst = max(worst, p95)
        name = f"{label} {q}".strip()
        print(f"{name:34} {totals[label]:>8} {p50:>8.1f} {p95:>8.1f} {p50 / base:>8.2f}")
    page = sorted(page_times)
    print(
        f"{'list page GET /?q=书包':34} {'':>8} {statistics.median(page):>8.1f} {page[int(0.95 * (len(page) - 1))]:>8.1f}"
    )
    verdict = "met" if worst < TARGET_P95_MS else "NOT met"
    print(f"\nworst search p95: {worst:.1f} ms (target < {TARGET_P95_MS} ms): {verdict}")


if __name__ == "__main__":
    main()
