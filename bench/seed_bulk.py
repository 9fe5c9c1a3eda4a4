"""Add N published wishes (and children for them), and M pending card donations, with
SQLAlchemy Core bulk inserts.

Run after `flask db upgrade` and `flask seed-demo`, against the database in DATABASE_URL:

    DATABASE_URL=sqlite:////tmp/bench.db python bench/seed_bulk.py --wishes 10000 --donations 3000

The donations wait for their payment, as `services.create_donation` leaves them; they carry
the donor name BENCH_DONOR so the webhook benchmark can find them and count them afterwards.
"""

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHILDREN_PER_BATCH = 1000
WISHES_PER_BATCH = 2000
DONATIONS_PER_BATCH = 2000
BENCH_DONOR = "webhook bench"


def seed(n_wishes: int, n_children: int, rng: random.Random) -> dict:
    from sqlalchemy import insert, select

    from core.clock import local_today, utcnow
    from core.extensions import db
    from core.ids import public_id
    from core.models import Role, User, UserRole
    from demo.data import ALIASES, CATEGORIES, PLACES, WISHES
    from funds.models import Fund
    from wishes.models import Child, Wish, WishStatus

    def user_with(role: str) -> int:
        user_id = db.session.scalar(
            select(User.id).join(UserRole, UserRole.user_id == User.id).where(UserRole.role == role).order_by(User.id)
        )
        if user_id is None:
            raise SystemExit(f"no user with role {role}: run `flask --app app seed-demo` first")
        return user_id

    caseworker_id = user_with(Role.CASEWORKER)
    supervisor_id = user_with(Role.SUPERVISOR)
    fund_ids = [None, *db.session.scalars(select(Fund.id))]
    now = utcnow()
    today = local_today()

    child_rows = []
    for i in range(n_children):
        district, street, community = PLACES[i % len(PLACES)]
        child_rows.append(
            {
                "case_no": f"BENCH-{i + 1:06d}",
                "legal_name": f"压测儿童{i + 1}",
                "birth_date": date(today.year - 6 - i % 11, 1 + i % 12, 1 + i % 28),
                "gender": ("female", "male")[i % 2],
                "guardian_name": f"压测监护人{i + 1}",
                "guardian_phone": f"1390{i:07d}",
                "address": f"{street}压测路{i + 1}号",
                "school": f"{district}压测小学",
                "category": CATEGORIES[i % len(CATEGORIES)],
                "district": district,
                "street": street,
                "community": community,
                "alias": ALIASES[i % len(ALIASES)],
                "notes": None,
                "caseworker_id": caseworker_id,
                "created_at": now,
            }
        )
    for start in range(0, len(child_rows), CHILDREN_PER_BATCH):
        db.session.execute(insert(Child), child_rows[start : start + CHILDREN_PER_BATCH])
    children = db.session.execute(
        select(Child.id, Child.district).where(Child.case_no.like("BENCH-%")).order_by(Child.id)
    ).all()

    seen: set[str] = set(db.session.scalars(select(Wish.public_id)))
    wish_rows = []
    for i in range(n_wishes):
        child_id, district = children[i % len(children)]
        title, category, amount, story = WISHES[i % len(WISHES)]
        pid = public_id()
        while pid in seen:
            pid = public_id()
        seen.add(pid)
        published = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        wish_rows.append(
            {
                "public_id": pid,
                "child_id": child_id,
                "title": title,
                "story": story,
                "category": category,
                "amount_fen": amount + rng.randrange(0, 30) * 100,
                "currency": "CNY",
                "needed_by": today + timedelta(days=20 + rng.randrange(0, 300)),
                "modes": ("gift", "either", "gift", "money")[i % 4],
                "fund_id": fund_ids[i % len(fund_ids)],
                "status": WishStatus.PUBLISHED.value,
                "version": 3,
                "district": district,
                "created_by_id": caseworker_id,
                "vetted_by_id": supervisor_id,
                "reject_reason": None,
                "created_at": published - timedelta(days=2),
                "updated_at": published,
                "submitted_at": published - timedelta(days=1),
                "published_at": published,
                "fulfilled_at": None,
            }
        )
    for start in range(0, len(wish_rows), WISHES_PER_BATCH):
        db.session.execute(insert(Wish), wish_rows[start : start + WISHES_PER_BATCH])
    index_terms([row["public_id"] for row in wish_rows])
    db.session.commit()
    refresh_statistics()
    return {"children": n_children, "wishes": n_wishes}


def index_terms(public_ids: list[str]) -> None:
    """The search terms of wishes inserted in bulk (a bulk insert runs no mapper events)."""
    from sqlalchemy import insert, select

    from core.extensions import db
    from wishes.models import Wish, WishTerm
    from wishes.search import terms

    wanted = set(public_ids)
    by_text: dict[tuple[str, str], list[str]] = {}
    rows = []
    for wish_id, pid, title, story in db.session.execute(select(Wish.id, Wish.public_id, Wish.title, Wish.story)):
        if pid in wanted:
            found = by_text.setdefault((title, story), sorted(terms(f"{title}\n{story}")))
            rows.extend({"wish_id": wish_id, "term": t} for t in found)
    for start in range(0, len(rows), 20_000):
        db.session.execute(insert(WishTerm), rows[start : start + 20_000])


def seed_donations(n: int, rng: random.Random) -> int:
    """n pending card donations to the active funds, with random public ids and amounts."""
    from flask import current_app
    from sqlalchemy import insert, select

    from core.clock import utcnow
    from core.extensions import db
    from core.ids import public_id
    from funds.models import Channel, Donation, DonationStatus, Fund

    fund_ids = list(db.session.scalars(select(Fund.id).where(Fund.active.is_(True)).order_by(Fund.id)))
    if not fund_ids:
        raise SystemExit("no active fund: run `flask --app app seed-demo` first")
    seen: set[str] = set(db.session.scalars(select(Donation.public_id)))
    now = utcnow()
    rows = []
    for i in range(n):
        pid = public_id(20)
        while pid in seen:
            pid = public_id(20)
        seen.add(pid)
        rows.append(
            {
                "public_id": pid,
                "amount_fen": rng.randrange(1, 500) * 100,
                "currency": current_app.config["CURRENCY"],
                "fund_id": fund_ids[i % len(fund_ids)],
                "donor_kind": "individual",
                "name": BENCH_DONOR,
                "contact": f"1380{i:07d}",
                "anonymous": False,
                "channel": Channel.CARD.value,
                "status": DonationStatus.PENDING.value,
                "version": 1,
                "refunded_fen": 0,
                "disputed_fen": 0,
                "created_at": now,
            }
        )
    for start in range(0, len(rows), DONATIONS_PER_BATCH):
        db.session.execute(insert(Donation), rows[start : start + DONATIONS_PER_BATCH])
    db.session.commit()
    return n


def refresh_statistics() -> None:
    """What autovacuum would do soon after a bulk load: planner statistics (and, on
    PostgreSQL, the visibility map behind index-only scans), so the bench measures the
    plans a settled database gets rather than those of a table the planner has never seen."""
    from sqlalchemy import text

    from core.extensions import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wishes", type=int, default=10_000)
    parser.add_argument("--children", type=int, default=500)
    parser.add_argument("--donations", type=int, default=0, help="pending card donations to add")
    parser.add_argument("--seed", type=int, default=20250601)
    args = parser.parse_args()

    from app import create_app

    app = create_app()
    started = time.perf_counter()
    with app.app_context():
        rng = random.Random(args.seed)
        if args.donations:
            seed_donations(args.donations, rng)
        result = seed(args.wishes, max(1, args.children), rng)
    print(
        f"seeded {result['wishes']} published wishes for {result['children']} children and "
        f"{args.donations} pending donations in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()


def completed_event(public_id: str, amount_fen: int, currency: str, created: int) -> dict:
    """A checkout.session.completed event as Stripe sends it for a paid Checkout Session."""
    return {
        "id": f"evt_bench_{public_id}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created,
        "type": "checkout.session.completed",
        "livemode": False,
        "pending_webhooks": 1,
        "data": {
            "object": {
                "id": f"cs_bench_{public_id}",
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "client_reference_id": public_id,
                "metadata": {"donation_id": public_id},
                "amount_total": amount_fen,
                "currency": currency.lower(),
                "payment_status": "paid",
                "payment_intent": f"pi_bench_{public_id}",
            }
        },
    }
