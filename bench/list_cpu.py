"""CPU per uncached list page, in process: N GETs of / through the test client, cache off.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_page \
        .venv/bin/python bench/list_cpu.py [-n 2000] [--path /] [--lang en] [--profile 30] [--after-change]

The database must hold the bench's wishes (bench/run.py builds one). Prints the CPU time per
request (process time, so waiting on PostgreSQL is not counted) and, with --profile, the
functions with the most cumulative time. With --after-change every request follows a bump of
the public catalogue version (untimed), as after a claim: the counts and the district menu
are computed again, while cards and the filter form whose content did not change are not
rendered again. Without it no version changes, as in bench/run.py's uncached rounds.
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from floor_app import make  # noqa: E402


def bump(app) -> None:
    """Commit a change of the public catalogue version, as a claim would."""
    from core import cache
    from core.extensions import db

    with app.app_context():
        cache.catalogue_changed()
        db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000, help="timed requests per path (2000)")
    parser.add_argument("--path", action="append", help="path to GET, repeatable (/ and /_bench/floor)")
    parser.add_argument("--lang", choices=("zh_CN", "en"), default="zh_CN", help="the visitor's language cookie")
    parser.add_argument("--profile", type=int, default=0, metavar="ROWS", help="profile and print ROWS rows")
    parser.add_argument("--after-change", action="store_true", help="bump the catalogue version before every request")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        parser.error("DATABASE_URL must name the bench database")
    app = make({"RESPONSE_CACHE": False, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    if args.lang == "en":
        client.get("/?lang=en")
    for path in args.path or ["/", "/_bench/floor"]:
        for _ in range(200):
            assert client.get(path).status_code == 200
        profiler = cProfile.Profile() if args.profile else None
        spent = 0.0
        for _ in range(args.n):
            if args.after_change:
                bump(app)
            start = time.process_time()
            if profiler:
                profiler.enable()
            client.get(path)
            if profiler:
                profiler.disable()
            spent += time.process_time() - start
        print(f"{path}: {spent / args.n * 1000:.3f} ms CPU per request ({args.n} requests)")
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
