"""Donors racing for the same wishes over real HTTP: exactly one wins each wish, the rest are told so.

DESIGN.md §3: at most one active claim per wish, decided by the database (a conditional
update and a partial unique index), never by a read-then-write.
"""

import random
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests
from sqlalchemy import func, select

from core.models import AuditLog, Role
from tests.factories import PASSWORD, claim, make_child, make_user, make_wish
from tests.helpers import fast_passwords  # noqa: F401 (an autouse fixture)
from wishes.models import Claim, ClaimStatus, Wish, WishStatus

WISHES = 10
REQUESTS = 200
THREADS = 80


def _fire(jobs, send):
    """Run every job at once (as far as THREADS allow) and return what each got back."""
    start = threading.Event()

    def run(job):
        start.wait()
        try:
            return job, send(job)
        except requests.RequestException as exc:
            return job, exc

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(run, job) for job in jobs]
        start.set()
        return [f.result() for f in futures]


def _claim_storm_jobs(public_ids):
    jobs = [(public_ids[i % len(public_ids)], "api" if i % 2 else "form", i) for i in range(REQUESTS)]
    random.Random(7).shuffle(jobs)
    return jobs


def test_two_hundred_donors_claim_ten_wishes_at_once(live_server, db):
    caseworker = make_user(Role.CASEWORKER)
    supervisor = make_user(Role.SUPERVISOR)
    child = make_child(caseworker)
    wishes = [make_wish(WishStatus.PUBLISHED, child=child, supervisor=supervisor) for _ in range(WISHES)]
    public_ids = [w.public_id for w in wishes]
    by_public_id = {w.public_id: w.id for w in wishes}
    db.session.commit()

    def send(job):
        public_id, kind, n = job
        donor = {"name": f"捐赠者{n}", "contact": f"139{n:08d}"}
        if kind == "api":
            return requests.post(f"{live_server.url}/api/v1/wishes/{public_id}/claim", json=donor, timeout=90)
        return requests.post(
            f"{live_server.url}/wishes/{public_id}/claim",
            data={**donor, "mode": "gift"},
            allow_redirects=False,
            timeout=90,
        )

    results = _fire(_claim_storm_jobs(public_ids), send)

    errors = [(job, r) for job, r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    statuses = Counter(r.status_code for _job, r in results)
    assert all(code < 500 for code in statuses), statuses
    winners = defaultdict(list)
    for (public_id, kind, _n), response in results:
        if kind == "api" and response.status_code == 201:
            body = response.json()
            assert body["claim"]["wish"] == public_id and "/claims/manage/" in body["manage_url"]
            winners[public_id].append(response)
        elif kind == "form" and response.status_code == 302:
            assert urlsplit(response.headers["Location"]).path.startswith("/claims/manage/")
            winners[public_id].append(response)
        else:
            assert response.status_code == 409, (kind, response.status_code, response.text[:300])
            if kind == "api":
                assert response.json()["error"]["code"] == "conflict"
    assert sorted(winners) == sorted(public_ids)
    assert all(len(w) == 1 for w in winners.values()), {k: len(v) for k, v in winners.items()}
    assert statuses[409] == REQUESTS - WISHES

    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Claim)) == WISHES
    active = db.session.execute(
        select(Claim.wish_id, func.count()).where(Claim.status == ClaimStatus.ACTIVE).group_by(Claim.wish_id)
    ).all()
    assert sorted(active) == sorted((wid, 1) for wid in by_public_id.values())
    assert set(db.session.scalars(select(Wish.status).where(Wish.id.in_(by_public_id.values())))) == {
        WishStatus.CLAIMED
    }
    claimed_rows = db.session.execute(
        select(AuditLog.object_id, func.count())
        .where(AuditLog.action == "wish.claimed", AuditLog.object_type == "wishes")
        .group_by(AuditLog.object_id)
    ).all()
    assert sorted(claimed_rows) == sorted((wid, 1) for wid in by_public_id.values())

    # Each winner's private link opens the claim that really holds the wish.
    for (response,) in winners.values():
        url = response.json()["manage_url"] if response.status_code == 201 else response.headers["Location"]
        page = requests.get(f"{live_server.url}{urlsplit(url).path}", timeout=30)
        assert page.status_code == 200


def _sign_in(live_server, user) -> dict:
    session = requests.Session()
    response = session.post(
        f"{live_server.url}/login", data={"email": user.email, "password": PASSWORD}, allow_redirects=False, timeout=30
    )
    assert response.status_code == 302
    return session.cookies.get_dict()


def test_donor_cancels_while_caseworker_confirms(live_server, db):
    """Both buttons pressed at the same moment: one wins, and wish and claim agree on which."""
    caseworker = make_user(Role.CASEWORKER)
    supervisor = make_user(Role.SUPERVISOR)
    child = make_child(caseworker)
    pairs = []
    for _ in range(10):
        wish = make_wish(WishStatus.PUBLISHED, child=child, supervisor=supervisor)
        c, token = claim(wish)
        pairs.append((c.id, wish.id, token))
    db.session.commit()
    cookies = _sign_in(live_server, caseworker)

    def send(job):
        action, claim_id, token = job
        if action == "cancel":
            return requests.post(
                f"{live_server.url}/claims/manage/{token}/cancel",
                data={"reason": "临时出差"},
                allow_redirects=False,
                timeout=90,
            )
        return requests.post(
            f"{live_server.url}/staff/claims/{claim_id}/confirm",
            data={"note": "已收到"},
            cookies=cookies,
            allow_redirects=False,
            timeout=90,
        )

    jobs = [(action, claim_id, token) for claim_id, _wish_id, token in pairs for action in ("cancel", "confirm")]
    random.Random(11).shuffle(jobs)
    results = dict(_fire(jobs, send))
    assert not [r for r in results.values() if isinstance(r, Exception)]
    assert all(r.status_code < 500 for r in results.values()), [r.status_code for r in results.values()]

    db.session.commit()
    outcomes = Counter()
    for claim_id, wish_id, token in pairs:
        c = db.session.get(Claim, claim_id)
        wish = db.session.get(Wish, wish_id)
        actions = Counter(
            db.session.scalars(
                select(AuditLog.action).where(
                    ((AuditLog.object_type == "claims") & (AuditLog.object_id == claim_id))
                    | ((AuditLog.object_type == "wishes") & (AuditLog.object_id == wish_id))
                )
            )
        )
        cancel = results[("cancel", claim_id, token)]
        confirm = results[("confirm", claim_id, token)]
        assert urlsplit(confirm.headers["Location"]).path == f"/staff/wishes/{wish_id}"
        if c.status == ClaimStatus.CANCELLED:
            assert wish.status == WishStatus.PUBLISHED
            assert cancel.status_code == 302
            assert actions["claim.cancelled"] == 1 and actions["wish.released"] == 1
            assert actions["claim.fulfilled"] == 0 and actions["wish.fulfilled"] == 0
            assert c.ended_at is not None
        else:
            assert c.status == ClaimStatus.FULFILLED
            assert wish.status == WishStatus.FULFILLED
            assert cancel.status_code == 409
            assert actions["claim.fulfilled"] == 1 and actions["wish.fulfilled"] == 1
            assert actions["claim.cancelled"] == 0 and actions["wish.released"] == 0
        outcomes[c.status] += 1
    assert sum(outcomes.values()) == 10
    assert db.session.scalar(select(func.count()).select_from(Claim).where(Claim.status == ClaimStatus.ACTIVE)) == 0
