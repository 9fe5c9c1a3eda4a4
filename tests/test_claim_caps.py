"""Nobody holds every wish: caps on active claims per person and per client, in the claim's own transaction.

An audit found one address with one made-up phone number holding all 17 open wishes. A
person is counted however they write their number (spaces, +86, full-width digits), and a
client address is counted whatever numbers it types; the caps hold against parallel requests.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from core.models import AuditLog
from tests.factories import make_fund, make_wish
from tests.payment_helpers import WEBHOOK_SECRET, configured
from wishes.models import Claim, ClaimStatus, Wish, WishStatus

#: One phone number, as five donors' thumbs might type it.
SAME_PHONE = ("13912345678", "139 1234 5678", "+86 139-1234-5678", "１３９１２３４５６７８", "008613912345678")


def _claim(client, public_id, contact, **extra):
    return client.post(f"/api/v1/wishes/{public_id}/claim", json={"name": "甲", "contact": contact, **extra})


def _active(db) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Claim).where(Claim.status == ClaimStatus.ACTIVE))


@pytest.fixture
def caps(app):
    with configured(app, CLAIM_MAX_ACTIVE_PER_CONTACT=5, CLAIM_MAX_ACTIVE_PER_CLIENT=10):
        yield


def test_one_phone_written_five_ways_holds_five_wishes_and_no_more(client, db, caps):
    wishes = [make_wish().public_id for _ in range(7)]
    for public_id, contact in zip(wishes, SAME_PHONE, strict=False):
        assert _claim(client, public_id, contact).status_code == 201
    audit_rows = db.session.scalar(select(func.count()).select_from(AuditLog))

    response = _claim(client, wishes[5], "13912345678")

    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "limit_reached" and "5" in error["message"]
    db.session.rollback()
    assert db.session.scalar(select(Wish.status).where(Wish.public_id == wishes[5])) == WishStatus.PUBLISHED
    assert _active(db) == 5
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == audit_rows
    # Somebody else may still claim it.
    assert _claim(client, wishes[5], "13800000000").status_code == 201


def test_cancelling_a_claim_frees_a_place(client, db, caps):
    wishes = [make_wish().public_id for _ in range(6)]
    links = [_claim(client, w, "donor@example.org").get_json()["manage_url"] for w in wishes[:5]]
    assert _claim(client, wishes[5], "DONOR@example.org").status_code == 429

    path = links[0].split("localhost", 1)[1]
    assert client.post(f"{path}/cancel", data={"reason": "改主意了"}).status_code in (302, 303)

    assert _claim(client, wishes[5], "donor@example.org").status_code == 201


def test_one_address_holds_at_most_its_cap_whatever_numbers_it_types(app, client, db):
    wishes = [make_wish().public_id for _ in range(5)]
    with configured(app, CLAIM_MAX_ACTIVE_PER_CLIENT=3):
        statuses = [_claim(client, w, f"1380000{n:04d}").status_code for n, w in enumerate(wishes[:4])]
        other_address = app.test_client()
        other_address.environ_base["REMOTE_ADDR"] = "203.0.113.9"
        elsewhere = _claim(other_address, wishes[4], "13700000000").status_code

    assert statuses == [201, 201, 201, 429]
    assert elsewhere == 201
    assert _active(db) == 4


def test_the_claim_form_says_why_and_keeps_the_wish_open(client, db, caps):
    wishes = [make_wish().public_id for _ in range(6)]
    for public_id in wishes[:5]:
        response = client.post(
            f"/wishes/{public_id}/claim", data={"name": "乙", "contact": "13600000000", "mode": "gift"}
        )
        assert response.status_code == 302

    response = client.post(
        f"/wishes/{wishes[5]}/claim", data={"name": "乙", "contact": "136 0000 0000", "mode": "gift"}
    )

    assert response.status_code == 429
    assert "您已认领了 5 个心愿" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(Wish.status).where(Wish.public_id == wishes[5])) == WishStatus.PUBLISHED


def test_paying_for_a_wish_online_counts_as_holding_it(app, client, db, caps):
    fund = make_fund()
    gifts = [make_wish().public_id for _ in range(5)]
    money = make_wish(modes="money", fund=fund.slug, amount_fen=16800).public_id
    for public_id in gifts:
        assert _claim(client, public_id, "wang@example.org").status_code == 201

    with configured(app, STRIPE_SECRET_KEY="", STRIPE_API_BASE="", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET):
        response = client.post(
            f"/donate/wish/{money}", data={"name": "王女士", "contact": "Wang@Example.org", "channel": "card"}
        )

    assert response.status_code == 429
    db.session.rollback()
    assert db.session.scalar(select(Wish.status).where(Wish.public_id == money)) == WishStatus.PUBLISHED


def test_staff_recording_a_claim_for_someone_is_not_capped(db, caps):
    from wishes import services

    wishes = [make_wish() for _ in range(6)]
    for wish in wishes:
        services.claim_wish(wish, services.ClaimInput(name="青岛某公司", contact="13500000000", capped=False))
    db.session.commit()
    assert _active(db) == 6


def test_parallel_claims_from_one_phone_cannot_pass_the_cap_together(app, live_server, db, caps):
    """Twenty requests at the same moment, twenty different wishes, one person: five win."""
    wishes = [make_wish().public_id for _ in range(20)]
    start = threading.Event()

    def send(n):
        start.wait()
        return requests.post(
            f"{live_server.url}/api/v1/wishes/{wishes[n]}/claim",
            json={"name": "丙", "contact": SAME_PHONE[n % len(SAME_PHONE)]},
            timeout=90,
        ).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(send, n) for n in range(20)]
        start.set()
        statuses = sorted(f.result() for f in futures)

    assert statuses == [201] * 5 + [429] * 15
    assert _active(db) == 5
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Wish).where(Wish.status == WishStatus.CLAIMED)) == 5


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "丁", "display_name": "爱心人士13912345678"}, "display_name"),
        ({"name": "丁", "display_name": "１３９ １２３４ ５６７８"}, "display_name"),
        ({"name": "幸福路8号3单元501室"}, "name"),
    ],
)
def test_a_public_name_carrying_a_phone_or_an_address_is_refused(client, db, payload, field):
    public_id = make_wish().public_id

    response = client.post(f"/api/v1/wishes/{public_id}/claim", json={"contact": "13300000000", **payload})

    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert _active(db) == 0


def test_an_anonymous_claim_may_carry_any_private_name(client, db):
    public_id = make_wish().public_id

    response = _claim(client, public_id, "13300000000", anonymous=True, name="幸福路8号3单元501室")

    assert response.status_code == 201
    assert response.get_json()["claim"]["public_name"] != "幸福路8号3单元501室"


def test_donation_forms_are_rate_limited_per_address(app, database_url, tmp_path, db):
    from tests.conftest import make_app

    fund = make_fund()
    limited = make_app(
        database_url,
        tmp_path,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        DONATION_RATE_LIMIT="2 per minute",
    )
    client = limited.test_client()
    body = {"fund": fund.slug, "amount_fen": 5000, "name": "戊", "contact": "13200000000"}
    statuses = [client.post("/api/v1/donations", json=body).status_code for _ in range(3)]
    form = {"name": "戊", "contact": "13200000000", "amount": "50", "channel": "card"}
    form_statuses = [client.post(f"/donate/fund/{fund.slug}", data=form).status_code for _ in range(3)]

    assert statuses[:2] == [201, 201] and statuses[2] == 429
    assert form_statuses[2] == 429
