"""Disbursements: money out of a fund, two fund administrators above the set amount, never below zero."""

import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from PIL import Image
from sqlalchemy import func, select

from core.errors import Conflict, Forbidden, ValidationError
from core.models import AuditLog, Role
from funds import disbursements, donations
from funds.disbursements import DisbursementInput, InsufficientFunds
from funds.ledger import figures
from funds.models import Disbursement, DisbursementStatus, Journal, Project
from tests.factories import PASSWORD, login, make_fund, make_user, make_wish
from tests.helpers import fast_passwords  # noqa: F401 (an autouse fixture)
from tests.payment_helpers import configured
from wishes import payments as wish_payments
from wishes.models import Claim, ClaimStatus

THRESHOLD = 200_000


def fund_with(db, amount_fen, fund=None):
    fund = fund or make_fund()
    admin = make_user(Role.FUND_ADMIN)
    donations.record_offline(
        admin,
        donations.Target(fund),
        amount_fen,
        donations.DonorInput(name="陈女士", contact="13800002222"),
        "bank_transfer",
        f"BANK-{amount_fen}",
    )
    db.session.commit()
    return fund


def supplier(amount_fen, **overrides):
    data = {"kind": "supplier", "amount_fen": amount_fen, "payee": "文具批发部", "purpose": "书包 20 个"}
    data.update(overrides)
    return DisbursementInput(**data)


def balance(db, fund) -> int:
    db.session.rollback()
    return figures()[fund.id].balance_fen


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def test_a_small_disbursement_is_paid_at_once(db, client):
    fund = fund_with(db, 500_000)
    admin = make_user(Role.FUND_ADMIN)
    paid = disbursements.request(admin, fund, supplier(30_000))
    db.session.commit()
    assert paid.status == DisbursementStatus.PAID and paid.decided_by_id == admin.id
    f = figures()[fund.id]
    assert (f.balance_fen, f.spent_fen) == (470_000, 30_000)
    assert client.get("/api/v1/funds").json["items"][0]["spent_fen"] == 30_000
    actions = set(db.session.scalars(select(AuditLog.action)))
    assert {"disbursement.requested", "disbursement.paid"} <= actions


def test_above_the_threshold_a_second_admin_approves_never_the_requester(db):
    fund = fund_with(db, 1_000_000)
    first, second = make_user(Role.FUND_ADMIN), make_user(Role.FUND_ADMIN)
    big = disbursements.request(first, fund, supplier(THRESHOLD + 1))
    db.session.commit()
    assert big.status == DisbursementStatus.REQUESTED and balance(db, fund) == 1_000_000
    with pytest.raises(Forbidden):
        disbursements.approve(first, big)
    db.session.rollback()
    assert disbursements.waiting_for(first) == [] and disbursements.waiting_for(second) == [big]
    disbursements.approve(second, big)
    db.session.commit()
    assert big.status == DisbursementStatus.PAID and big.decided_by_id == second.id
    assert balance(db, fund) == 1_000_000 - THRESHOLD - 1


def test_a_request_is_rejected_with_a_reason_and_then_cannot_be_paid(db):
    fund = fund_with(db, 1_000_000)
    first, second = make_user(Role.FUND_ADMIN), make_user(Role.FUND_ADMIN)
    big = disbursements.request(first, fund, supplier(300_000))
    db.session.commit()
    with pytest.raises(ValidationError):
        disbursements.reject(second, big, "  ")
    disbursements.reject(second, big, "报价偏高，请再询价")
    db.session.commit()
    assert big.status == DisbursementStatus.REJECTED and big.reason == "报价偏高，请再询价"
    with pytest.raises(Conflict):
        disbursements.approve(second, big)
    db.session.rollback()
    assert balance(db, fund) == 1_000_000


@pytest.mark.parametrize(
    "change, field",
    [
        ({"amount_fen": 0}, "amount_fen"),
        ({"amount_fen": -5}, "amount_fen"),
        ({"amount_fen": 10.5}, "amount_fen"),
        ({"amount_fen": 900_001}, "amount_fen"),
        ({"payee": ""}, "payee"),
        ({"kind": "party"}, "kind"),
        ({"kind": "grant", "project_id": None}, "project_id"),
        ({"kind": "wish_gift", "wish": None, "receipt": None}, "receipt"),
    ],
)
def test_bad_requests_write_nothing(db, change, field):
    fund = fund_with(db, 900_000)
    admin = make_user(Role.FUND_ADMIN)
    with pytest.raises(ValidationError) as refused:
        disbursements.request(admin, fund, supplier(**{"amount_fen": 1000, **change}))
    assert field in refused.value.fields
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Disbursement)) == 0


def test_a_grant_goes_only_to_a_project_of_the_fund(db):
    fund, other = fund_with(db, 900_000), make_fund(slug="other", name="另一个基金")
    project = Project(slug="reading", title="阅读角", fund_id=other.id, goal_fen=100_000)
    db.session.add(project)
    db.session.commit()
    admin = make_user(Role.FUND_ADMIN)
    with pytest.raises(ValidationError):
        disbursements.request(admin, fund, supplier(1000, kind="grant", project_id=project.id))
    own = Project(slug="reading2", title="阅读角二期", fund_id=fund.id, goal_fen=100_000)
    db.session.add(own)
    db.session.commit()
    grant = disbursements.request(admin, fund, supplier(1000, kind="grant", project_id=own.id))
    assert grant.project_id == own.id and grant.status == DisbursementStatus.PAID


def test_only_fund_admins_disburse(db):
    fund = fund_with(db, 900_000)
    with pytest.raises(Forbidden):
        disbursements.request(make_user(Role.CASEWORKER), fund, supplier(1000))
    big = disbursements.request(make_user(Role.FUND_ADMIN), fund, supplier(THRESHOLD + 10))
    db.session.commit()
    with pytest.raises(Forbidden):
        disbursements.approve(make_user(Role.SUPERVISOR), big)


def test_approval_refused_when_the_money_is_gone(db):
    fund = fund_with(db, 500_000)
    first, second = make_user(Role.FUND_ADMIN), make_user(Role.FUND_ADMIN)
    a = disbursements.request(first, fund, supplier(300_000))
    b = disbursements.request(first, fund, supplier(300_000))
    db.session.commit()
    disbursements.approve(second, a)
    db.session.commit()
    with pytest.raises(InsufficientFunds):
        disbursements.approve(second, b)
    db.session.rollback()
    assert b.status == DisbursementStatus.REQUESTED and balance(db, fund) == 200_000


def test_buying_a_paid_wishs_gift_keeps_its_claim_for_delivery(app, db, client):
    fund = make_fund()
    wish = make_wish(modes="money", fund=fund.slug, amount_fen=16800)
    with configured(app, STRIPE_SECRET_KEY=""):
        donation = wish_payments.pay_for_wish(
            wish, donations.DonorInput(name="王女士", contact="wang@example.org"), "card"
        )
        db.session.commit()
    donations.succeed(donation, "stripe")
    claim = db.session.scalar(select(Claim).where(Claim.wish_id == wish.id))
    from wishes import services

    services.claim_paid(claim, "stripe")
    db.session.commit()
    admin = make_user(Role.FUND_ADMIN)
    login(client, admin)

    response = client.post(
        "/staff/disbursements/new",
        data={
            "fund": fund.slug,
            "kind": "wish_gift",
            "amount": "150",
            "payee": "新华书店",
            "purpose": "书包一个",
            "wish": wish.public_id,
            "receipt": (io.BytesIO(jpeg()), "receipt.jpg"),
        },
        content_type="multipart/form-data",
    )

    assert response.status_code == 302, response.data[:800]
    paid = db.session.scalar(select(Disbursement))
    assert paid.wish_id == wish.id and paid.receipt and paid.status == DisbursementStatus.PAID
    assert client.get(f"/staff/disbursements/{paid.id}/receipt-photo").status_code == 200
    db.session.rollback()
    claim = db.session.get(Claim, claim.id)
    assert claim.status == ClaimStatus.ACTIVE
    assert "claim.gift_purchased" in set(db.session.scalars(select(AuditLog.action)))
    assert figures()[fund.id].balance_fen == 16800 - 15000

    other = make_wish(modes="gift", fund=fund.slug)
    refused = client.post(
        "/staff/disbursements/new",
        data={
            "fund": fund.slug,
            "kind": "wish_gift",
            "amount": "10",
            "payee": "新华书店",
            "purpose": "书",
            "wish": other.public_id,
            "receipt": (io.BytesIO(jpeg()), "receipt.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Disbursement)) == 1


def test_the_desk_over_http_requester_cannot_approve_second_admin_can(db, client, app):
    fund = fund_with(db, 900_000)
    first, second = make_user(Role.FUND_ADMIN), make_user(Role.FUND_ADMIN)
    login(client, first)
    response = client.post(
        "/staff/disbursements/new",
        data={"fund": fund.slug, "kind": "supplier", "amount": "3000", "payee": "文具批发部", "purpose": "书包"},
    )
    assert response.status_code == 302
    big = db.session.scalar(select(Disbursement))
    assert big.status == DisbursementStatus.REQUESTED
    client.post(f"/staff/disbursements/{big.id}/approve")
    db.session.rollback()
    assert db.session.get(Disbursement, big.id).status == DisbursementStatus.REQUESTED
    assert f'disbursement-request" data-disbursement="{big.id}"' not in client.get("/staff/disbursements").text
    client.post("/logout")
    other = app.test_client()
    login(other, second)
    page = other.get("/staff/disbursements")
    assert page.status_code == 200 and f'disbursement-request" data-disbursement="{big.id}"' in page.text
    other.post(f"/staff/disbursements/{big.id}/approve")
    db.session.rollback()
    assert db.session.get(Disbursement, big.id).status == DisbursementStatus.PAID
    caseworker = app.test_client()
    login(caseworker, make_user(Role.CASEWORKER))
    assert caseworker.get("/staff/disbursements").status_code == 403
    assert caseworker.post(f"/staff/disbursements/{big.id}/reject", data={"reason": "x"}).status_code == 403


def test_two_approvals_at_the_same_moment_never_take_a_fund_below_zero(live_server, db):
    fund = fund_with(db, 1_000_000)
    requester = make_user(Role.FUND_ADMIN)
    approvers = [make_user(Role.FUND_ADMIN) for _ in range(4)]
    asks = [disbursements.request(requester, fund, supplier(600_000)) for _ in range(4)]
    db.session.commit()
    ids = [a.id for a in asks]

    sessions = []
    for approver in approvers:
        session = requests.Session()
        r = session.post(
            f"{live_server.url}/login", data={"email": approver.email, "password": PASSWORD}, allow_redirects=False
        )
        assert r.status_code == 302
        sessions.append(session)
    start = threading.Event()

    def approve(n):
        start.wait()
        return sessions[n].post(f"{live_server.url}/staff/disbursements/{ids[n]}/approve", allow_redirects=False)

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(approve, n) for n in range(4)]
        start.set()
        results = [f.result() for f in futures]

    assert all(r.status_code == 302 for r in results)
    db.session.rollback()
    statuses = [db.session.get(Disbursement, i).status for i in ids]
    assert statuses.count(DisbursementStatus.PAID) == 1
    assert statuses.count(DisbursementStatus.REQUESTED) == 3
    assert balance(db, fund) == 400_000
    assert db.session.scalar(select(func.count()).where(Journal.source_key.like("disbursement:%"))) == 1
