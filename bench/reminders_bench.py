"""Benchmark of the reminder jobs: open claims and pairings in bulk, then the jobs' time and queries.

  .venv/bin/python bench/reminders_bench.py [--claims 100000] [--pairings 10000] [--mails 2000] [--postgres URL]

1. builds a fresh database (a temporary SQLite file, or the PostgreSQL database given, whose
   schema is dropped and rebuilt), applies the migrations and bulk-inserts children, claimed
   wishes with their active claims (due dates spread over the next 30 days, so about a third
   are due a reminder on any day), and pairings with no contact this month;
2. runs `send-claim-reminders` on a tenth of the claims, then on all of them, counting SQL
   statements: queries per reminded claim must stay flat as the table grows;
3. runs `pairing-reminders` over the pairings on the 20th;
4. delivers `--mails` of the queued notifications to a local SMTP server (tests/smtp_server.py)
   and reports messages per second.
"""

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _bulk(db, claims: int, pairings: int, children: int, offset: int = 0) -> None:
    from sqlalchemy import insert

    from core.ids import hash_token
    from reminders.models import Pairing
    from wishes.models import Child, Claim, Wish

    now = datetime.now(UTC)
    user_id = 1
    if offset == 0:
        db.session.execute(
            insert(Child),
            [
                {
                    "case_no": f"B-{i:07d}",
                    "legal_name": "示例童",
                    "birth_date": date(2016, 1, 1),
                    "gender": "female",
                    "guardian_name": "示例",
                    "guardian_phone": "13900000000",
                    "address": "示例路",
                    "school": None,
                    "category": "other",
                    "district": "梁溪区",
                    "street": "江海街道",
                    "community": None,
                    "alias": f"小{i % 100}",
                    "notes": None,
                    "caseworker_id": user_id,
                    "created_at": now,
                }
                for i in range(children)
            ],
        )
    for start in range(offset, offset + claims, 5000):
        rows = range(start, min(offset + claims, start + 5000))
        db.session.execute(
            insert(Wish),
            [
                {
                    "public_id": f"w{i:011d}",
                    "child_id": 1 + i % children,
                    "title": "一个新书包",
                    "story": "旧书包坏了，希望新学期能背上一个结实的新书包。",
                    "category": "study",
                    "amount_fen": 12000,
                    "currency": "CNY",
                    "needed_by": (now + timedelta(days=60)).date(),
                    "modes": "gift",
                    "status": "claimed",
                    "district": "梁溪区",
                    "created_by_id": user_id,
                    "version": 2,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in rows
            ],
        )
        db.session.execute(
            insert(Claim),
            [
                {
                    "public_id": f"c{i:011d}",
                    "wish_id": i + 1,
                    "name": "捐赠人",
                    "contact": f"d{i}@bench.invalid",
                    "email": f"d{i}@bench.invalid",
                    "anonymous": False,
                    "mode": "gift",
                    "source": "web",
                    "status": "active",
                    "claimed_at": now - timedelta(days=20),
                    "due_at": now + timedelta(days=i % 30, hours=1),
                    "manage_token_hash": hash_token(f"bench-{i}"),
                }
                for i in rows
            ],
        )
    if pairings:
        db.session.execute(
            insert(Pairing),
            [
                {
                    "child_id": 1 + i % children,
                    "volunteer_name": "志愿者",
                    "volunteer_email": f"v{i}@bench.invalid",
                    "volunteer_locale": "zh_CN",
                    "start_date": date(2025, 1, 1),
                    "link_version": 1,
                    "created_by_id": user_id,
                    "created_at": now,
                }
                for i in range(pairings)
            ],
        )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # As autovacuum would after a load this size: the planner needs the new row counts.
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


class Counter:
    def __init__(self, engine):
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args, **_kwargs):
        self.count += 1


def _timed_job(app, name: str, counter: Counter, now: datetime | None = None) -> tuple[float, int, int]:
    from reminders.jobs import job_named, run_job

    before = counter.count
    started = time.perf_counter()
    outcome = run_job(app, job_named(name), now)
    return time.perf_counter() - started, outcome.count, counter.count - before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--pairings", type=int, default=10_000)
    parser.add_argument("--mails", type=int, default=2_000)
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL", ""))
    args = parser.parse_args()

    from sqlalchemy import create_engine, delete, text

    workdir = tempfile.mkdtemp(prefix="bench-reminders-")
    if args.postgres:
        url = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{workdir}/bench.db"
    from flask_migrate import upgrade

    from app import create_app
    from core.extensions import db
    from core.outbox import Notification, deliver_pending
    from core.services import create_user
    from tests.smtp_server import SMTPServer

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "PUBLIC_BASE_URL": "https://weixinyuan.example",
            "LOG_LEVEL": "WARNING",
            "UPLOAD_FOLDER": workdir,
        }
    )
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}")
    with app.app_context():
        upgrade()
        create_user("caseworker@bench.invalid", "bench-password-1", "社工", roles=["caseworker"])
        db.session.commit()
        counter = Counter(db.engine)
        small = args.claims // 10
        started = time.perf_counter()
        children = max(1, args.claims // 100)
        _bulk(db, small, 0, children)
        print(f"inserted {small} claims in {time.perf_counter() - started:.1f} s")
        seconds, sent_small, queries_small = _timed_job(app, "send-claim-reminders", counter)
        print(
            f"send-claim-reminders over {small} open claims: {seconds:.2f} s, {sent_small} reminders, "
            f"{queries_small} queries ({queries_small / max(sent_small, 1):.2f} per reminder)"
        )
        # Start again with the whole table: the reminders of the first run count as sent.
        db.session.execute(delete(Notification))
        from reminders.models import ClaimReminder

        db.session.execute(delete(ClaimReminder))
        db.session.commit()
        started = time.perf_counter()
        _bulk(db, args.claims - small, args.pairings, children, offset=small)
        print(
            f"inserted {args.claims - small} more claims and {args.pairings} pairings in {time.perf_counter() - started:.1f} s"
        )
        seconds, sent, queries = _timed_job(app, "send-claim-reminders", counter)
        print(
            f"send-claim-reminders over {args.claims} open claims: {seconds:.2f} s, {sent} reminders, "
            f"{queries} queries ({queries / max(sent, 1):.2f} per reminder), "
            f"{seconds / max(sent, 1) * 1000:.2f} ms per reminder"
        )
        seconds, again, queries_again = _timed_job(app, "send-claim-reminders", counter)
        print(f"  run again at once: {seconds:.2f} s, {again} reminders, {queries_again} queries")
        twentieth = datetime.now(UTC).astimezone().replace(day=20, hour=10)
        seconds, paired, queries = _timed_job(app, "pairing-reminders", counter, twentieth)
        print(
            f"pairing-reminders over {args.pairings} pairings: {seconds:.2f} s, {paired} reminders, {queries} queries"
        )

        db.session.execute(
            delete(Notification).where(
                Notification.id.not_in(db.select(Notification.id).order_by(Notification.id).limit(args.mails))
            )
        )
        db.session.commit()
        with SMTPServer() as smtp:
            app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
            started = time.perf_counter()
            delivered = 0
            while True:
                sent_now = deliver_pending()
                if not sent_now:
                    break
                delivered += sent_now
            seconds = time.perf_counter() - started
            print(
                f"deliver-mail: {delivered} messages to a local SMTP server in {seconds:.1f} s, "
                f"{delivered / seconds:.0f} messages/s ({len(smtp.messages)} received)"
            )


if __name__ == "__main__":
    main()
