"""The demo looks like a programme that has run for a year, not a table filled in one second."""

from collections import Counter

from sqlalchemy import func, select

from core.clock import as_utc, utcnow
from core.extensions import db as _db
from demo.data import seed_demo
from funds import queries
from funds.models import Donation, DonationStatus, Project, ProjectStatus
from wishes.models import Claim, ClaimStatus, Wish, WishStatus

OPEN = (WishStatus.DRAFT, WishStatus.SUBMITTED, WishStatus.REJECTED, WishStatus.PUBLISHED, WishStatus.CLAIMED)


def test_one_wish_per_child_per_season_and_the_earlier_ones_came_true(db):
    seed_demo()
    open_per_child = Counter(_db.session.scalars(select(Wish.child_id).where(Wish.status.in_(OPEN))))
    assert open_per_child and max(open_per_child.values()) == 1
    # Earlier seasons: wishes written months ago, every one fulfilled, with the caseworker's thanks.
    now = utcnow()
    earlier = [w for w in _db.session.scalars(select(Wish)) if (now - as_utc(w.created_at)).days > 90]
    assert len(earlier) >= 10 and {w.status for w in earlier} == {WishStatus.FULFILLED}
    fulfilled = _db.session.scalars(select(Claim).where(Claim.status == ClaimStatus.FULFILLED)).all()
    assert len(fulfilled) >= 10 and all(c.thanks_note for c in fulfilled)
    assert all(as_utc(c.claimed_at) < as_utc(c.ended_at) for c in fulfilled)


def test_donations_spread_over_the_year_from_couples_companies_and_people(db):
    seed_demo()
    paid = _db.session.scalars(select(Donation).where(Donation.status == DonationStatus.SUCCEEDED)).all()
    months = {(d.created_at.year, d.created_at.month) for d in paid}
    assert len(months) >= 10
    assert {d.channel for d in paid} >= {"cash", "bank_transfer", "wechat_pay", "alipay", "card"}
    assert {d.donor_kind for d in paid} == {"couple", "organisation", "individual"}
    assert len({d.amount_fen for d in paid}) >= 15
    # Receipt numbers follow the calendar, as they would have been issued.
    ordered = sorted(paid, key=lambda d: (d.succeeded_at, d.id))
    assert [d.receipt_no for d in ordered] == sorted(d.receipt_no for d in ordered)


def test_projects_show_progress_and_some_are_complete(db):
    seed_demo()
    progress = {p.slug: (queries.project_raised(p), p.goal_fen, p.status) for p in _db.session.scalars(select(Project))}
    complete = [slug for slug, (raised, goal, _status) in progress.items() if raised >= goal]
    partial = [slug for slug, (raised, goal, _status) in progress.items() if 0 < raised < goal]
    assert len(complete) >= 1 and len(partial) >= 3
    assert any(status == ProjectStatus.CLOSED for _raised, _goal, status in progress.values())


def test_seeding_twice_adds_nothing(db):
    assert seed_demo() is not None
    before = _db.session.scalar(select(func.count()).select_from(Donation))
    assert seed_demo() is None
    assert _db.session.scalar(select(func.count()).select_from(Donation)) == before
