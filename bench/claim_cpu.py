"""CPU and SQL statements per claim attempt, in process, without HTTP or gunicorn.

Builds the app against a PostgreSQL (or SQLite) database of its own, migrates it, loads the
demo data and N bulk-inserted published wishes, then sends K winning attempts (each on a
fresh wish) and K losing attempts (each on a wish claimed before) through
`app.test_client()`, and prints the CPU time and the SQL statements per attempt. With
`--profile` it also prints cProfile's top functions for each kind.

    createdb -h 127.0.0.1 -U postgres bench_claim
    .venv/bin/python bench/claim_cpu.py --database postgresql://postgres@127.0.0.1:5432/bench_claim

The database's schema is dropped and rebuilt: its name must contain `bench` and must not
be `bench` itself (the main benchmark's).
"""

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def reset(url: str) -> None:
    from sqlalchemy import create_engine, text

    if url.startswith("sqlite"):
        return
    name = url.rsplit("/", 1)[-1].split("?")[0]
    if "bench" not in name or name in ("bench", "test"):
        raise SystemExit(f"refusing database {name!r}: use one of this script's own, e.g. bench_claim")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def build(url: str, n_wishes: int, rate_limit: bool):
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from bench.seed_bulk import seed
    from core.extensions import db
    from demo.data import seed_demo
    from wishes.models import Wish, WishStatus

    tmp = Path(tempfile.mkdtemp(prefix="claim-cpu-"))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "SECRET_KEY": "bench-only-secret",
            "RATELIMIT_ENABLED": rate_limit,
            # The limit per address would refuse a benchmark that sends everything from one address.
            "CLAIM_RATE_LIMIT": "1000000 per minute",
            # One sender stands for many donors, as in bench/run.py: no cap per person or address.
            "CLAIM_MAX_ACTIVE_PER_CONTACT": 0,
            "CLAIM_MAX_ACTIVE_PER_CLIENT": 0,
            "LOG_LEVEL": "WARNING",
            "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
            "UPLOAD_FOLDER": str(tmp / "uploads"),
        }
    )
    with app.app_context():
        upgrade()
        seed_demo()
        seed(n_wishes, max(1, n_wishes // 20), __import__("random").Random(1))
        ids = list(db.session.scalars(select(Wish.public_id).where(Wish.status == WishStatus.PUBLISHED)))
        db.session.remove()
    return app, ids


def attempts(app, ids: list[str], contact: str, profile: cProfile.Profile | None):
    """Claim each wish once; returns (CPU seconds, statements, status codes)."""
    from sqlalchemy import event

    from core.database import autocommit_engine
    from core.extensions import db

    with app.app_context():
        engine = db.engine
    statements = 0

    def count(*_args):
        nonlocal statements
        statements += 1

    # The status read of a claim attempt goes through the autocommit pool on PostgreSQL.
    engines = [engine] + ([autocommit_engine(engine)] if engine.dialect.name == "postgresql" else [])
    for each in engines:
        event.listen(each, "before_cursor_execute", count)
    client = app.test_client()
    codes: dict[int, int] = {}
    try:
        started = time.process_time()
        if profile:
            profile.enable()
        for i, public_id in enumerate(ids):
            response = client.post(f"/api/v1/wishes/{public_id}/claim", json={"name": f"bench-{i}", "contact": contact})
            codes[response.status_code] = codes.get(response.status_code, 0) + 1
        if profile:
            profile.disable()
        cpu = time.process_time() - started
    finally:
        for each in engines:
            event.remove(each, "before_cursor_execute", count)
    return cpu, statements, codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/bench_claim")
    parser.add_argument("--wishes", type=int, default=3000, help="published wishes to seed")
    parser.add_argument("-k", type=int, default=500, help="attempts of each kind")
    parser.add_argument(
        "--contact", default="13800001234", help="the donor's contact (an e-mail queues a notification)"
    )
    parser.add_argument("--rate-limit", action="store_true", help="keep flask-limiter on (with a limit never reached)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    url = sqlalchemy_url(args.database)
    reset(url)
    app, ids = build(url, args.wishes, args.rate_limit)
    k = min(args.k, len(ids) // 3)
    warm, fresh = ids[:50], ids[50 : 50 + k]
    attempts(app, warm, args.contact, None)
    attempts(app, warm, args.contact, None)

    results = {}
    for kind, batch in (("win", fresh), ("lose", fresh)):
        # CPU time, not wall time: waiting on the database is not what this measures.
        profile = cProfile.Profile(time.process_time) if args.profile else None
        cpu, statements, codes = attempts(app, batch, args.contact, profile)
        results[kind] = (cpu, statements, codes)
        if profile:
            print(f"--- {kind}: top {args.top} by cumulative time")
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
            print(f"--- {kind}: top {args.top} by own time")
            pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    note = " (under cProfile: slower)" if args.profile else ""
    print(
        f"database {url.split('://')[0]}, contact {args.contact}, rate limiter {'on' if args.rate_limit else 'off'}{note}"
    )
    for kind, (cpu, statements, codes) in results.items():
        print(
            f"{kind:5} {k} attempts: {cpu / k * 1000:.2f} ms CPU per attempt, "
            f"{statements / k:.1f} statements per attempt, answers {codes}"
        )


if __name__ == "__main__":
    main()
