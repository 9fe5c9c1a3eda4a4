"""How fast the scheduler's applier turns a backlog of stored Stripe events into paid donations.

A giving day's peak leaves the webhook's table full of checkout.session.completed events;
this times `payments.apply.apply_backlog()` draining such a backlog in process:

    python bench/applier.py --postgres postgresql://postgres@127.0.0.1:5432/bench_applier
    python bench/applier.py                      # a temporary SQLite file

One run builds a fresh database (the given PostgreSQL database's public schema is dropped
and rebuilt, so never point it at a database you keep), applies the migrations, adds one
fund, N pending card donations and one stored checkout.session.completed event for each
(the payload `bench/run.py` signs and sends), then applies them all and prints events/s,
the SQL statements sent per event (an executemany counts once) and what they were, and
checks the outcome: every donation succeeded with one journal and one receipt number,
receipt numbers 1…N, nothing left to apply, and `flask --app app ledger check` passes.
`--profile` prints the top of a cProfile of the apply.
"""

import argparse
import collections
import cProfile
import json
import os
import pstats
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

#: Databases other people's runs use: never dropped by this script.
KEPT = {"test", "bench", "postgres"}


def sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def fresh_schema(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    if name in KEPT:
        raise SystemExit(f"refusing to drop the schema of database {name!r}: create one of your own")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def seed(n: int, rng: random.Random) -> None:
    """One fund, n pending card donations (seed_bulk.py) and their stored events, in a shuffled order."""
    from seed_bulk import BENCH_DONOR, completed_event, refresh_statistics, seed_donations
    from sqlalchemy import insert, select

    from core.extensions import db
    from funds.models import Donation, Fund
    from payments.models import PaymentEvent, event_row

    db.session.execute(insert(Fund), [{"slug": "bench-fund", "name": "Bench fund", "description": "", "active": True}])
    db.session.commit()
    seed_donations(n, rng)
    rows = db.session.execute(
        select(Donation.public_id, Donation.amount_fen, Donation.currency).where(Donation.name == BENCH_DONOR)
    ).all()
    rng.shuffle(rows)
    created = int(time.time())
    events = [event_row(completed_event(pid, amount, currency, created)) for pid, amount, currency in rows]
    for start in range(0, len(events), 2000):
        db.session.execute(insert(PaymentEvent), events[start : start + 2000])
    db.session.commit()
    refresh_statistics()


class StatementCounter:
    """Every statement sent to the database while on, by what it does (an executemany counts once)."""

    def __init__(self, engine):
        self.on = False
        self.kinds: collections.Counter = collections.Counter()
        from sqlalchemy import event

        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, _parameters, _context, executemany):
        if self.on:
            self.kinds[self.kind(statement) + (" (executemany)" if executemany else "")] += 1

    @staticmethod
    def kind(statement: str) -> str:
        words = re.sub(r"\s+", " ", statement.strip()).split(" ")
        verb = words[0].upper()
        if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
            return verb
        table = next(
            (w.strip('"') for i, w in enumerate(words) if i and words[i - 1].upper() in ("FROM", "INTO", "UPDATE")), ""
        )
        return f"{verb} {table}".strip()

    @property
    def total(self) -> int:
        return sum(self.kinds.values())


def outcome_checks(n: int) -> dict:
    from sqlalchemy import func, select

    from core.extensions import db
    from funds import integrity
    from funds.models import Donation, DonationStatus, Journal
    from payments.models import PaymentEvent

    db.session.rollback()
    statuses = dict(db.session.execute(select(Donation.status, func.count()).group_by(Donation.status)).all())
    journals = db.session.scalar(select(func.count()).select_from(Journal))
    receipts = sorted(
        int(r.rsplit("-", 1)[1])
        for r in db.session.scalars(select(Donation.receipt_no).where(Donation.receipt_no.is_not(None)))
    )
    outcomes = dict(db.session.execute(select(PaymentEvent.outcome, func.count()).group_by(PaymentEvent.outcome)).all())
    breaches = integrity.check()
    return {
        "statuses": statuses,
        "journals": journals,
        "receipts_gapless": receipts == list(range(1, n + 1)),
        "outcomes": outcomes,
        "integrity_breaches": breaches[:5],
        "ok": statuses == {DonationStatus.SUCCEEDED.value: n}
        and journals == n
        and receipts == list(range(1, n + 1))
        and outcomes == {"applied": n}
        and not breaches,
    }


def ledger_check_command(database_url: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "REDIS_URL", "STRIPE_SECRET_KEY")}
    env.update({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "FLASK_APP": "app"})
    result = subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "app", "ledger", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    lines = (result.stdout + result.stderr).strip().splitlines()
    return result.returncode, (lines[-1] if lines else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL database of your own (its schema is rebuilt)")
    parser.add_argument("--events", type=int, default=15_000, help="pending donations, one event each")
    parser.add_argument("--batch", type=int, default=None, help="events per transaction (the applier's default)")
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile of the apply")
    parser.add_argument("--seed", type=int, default=20250601)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="bench-applier-")
    if args.postgres:
        database_url = sqlalchemy_url(args.postgres)
        fresh_schema(database_url)
    else:
        database_url = f"sqlite:///{Path(tmp.name) / 'applier.db'}"
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            "RATELIMIT_ENABLED": "0",
            "UPLOAD_FOLDER": str(Path(tmp.name) / "uploads"),
        }
    )
    for name in ("TEST_DATABASE_URL", "REDIS_URL", "STRIPE_SECRET_KEY"):
        os.environ.pop(name, None)

    from flask_migrate import upgrade

    from app import create_app
    from core.extensions import db
    from payments.apply import apply_backlog

    app = create_app()
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        seed(args.events, random.Random(args.seed))
        print(f"{db.engine.dialect.name}: seeded {args.events} events in {time.perf_counter() - started:.1f} s")

        counter = StatementCounter(db.engine)
        profiler = cProfile.Profile() if args.profile else None
        counter.on = True
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        applied = apply_backlog(args.batch) if args.batch else apply_backlog()
        seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
        counter.on = False

        print(f"applied {applied} events in {seconds:.2f} s: {applied / seconds:.0f} events/s")
        print(f"statements: {counter.total} ({counter.total / max(applied, 1):.2f} per event)")
        for kind, times in counter.kinds.most_common():
            print(f"  {times / max(applied, 1):7.3f}  {kind}")
        checks = outcome_checks(args.events)
        print("outcome:", json.dumps(checks, default=str))
    code, last = ledger_check_command(database_url)
    print(f"flask --app app ledger check: exit {code}: {last}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    tmp.cleanup()
    if not checks["ok"] or code != 0:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
