"""Stripe's itemised balance change report (CSV) reconciled like the API's list: fees posted once, differences kept."""

import io

from sqlalchemy import func, select

from core.models import Role
from funds.ledger import figures
from funds.models import Journal
from reconcile.models import ReconcileRun
from tests.factories import login, make_fund, make_user
from tests.test_reconcile_stripe import paid

HEADER = "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,description,charge_id,payment_intent_id,payment_metadata[donation_id]\n"


def report(*lines) -> bytes:
    return (HEADER + "".join(lines)).encode("utf-8-sig")


def test_a_report_is_reconciled_and_its_fees_posted_once(client, db):
    fund = make_fund()
    gift, other = paid(5000, fund=fund), paid(3000, fund=fund)
    data = report(
        f"txn_r1,2026-05-04 02:00:00,2026-05-06 00:00:00,cny,50.00,1.70,48.30,charge,ch_1,,ch_1,pi_{gift.public_id},{gift.public_id}\n",
        f"txn_r2,2026-05-04 03:00:00,2026-05-06 00:00:00,cny,29.99,1.02,28.97,charge,ch_2,,ch_2,pi_{other.public_id},\n",
        "txn_r3,2026-05-04 04:00:00,2026-05-06 00:00:00,cny,9.00,0.31,8.69,charge,ch_3,,ch_3,pi_nobody,\n",
    )
    login(client, make_user(Role.FUND_ADMIN))
    for _attempt in range(2):
        response = client.post(
            "/staff/reconcile/stripe-report",
            data={"report": (io.BytesIO(data), "report.csv")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302
    db.session.rollback()
    first = db.session.scalar(select(ReconcileRun).order_by(ReconcileRun.id))
    kinds = sorted((i.kind, i.reference, i.difference_fen) for i in first.items)
    assert kinds == [("amount_mismatch", "txn_r2", -1), ("missing_here", "txn_r3", 900)]
    assert first.matched == 1
    assert figures()[fund.id].fees_fen == 170 + 102
    assert db.session.scalar(select(func.count()).where(Journal.source_key.like("stripe:fee:%"))) == 2


def test_a_file_that_is_not_the_report_writes_nothing(client, db):
    login(client, make_user(Role.FUND_ADMIN))
    for data in (b"name,amount\nx,1\n", report("txn_1,yesterday,,cny,1.00,0,1.00,charge,,,,,\n"), b"\xff\xfe\x00"):
        response = client.post(
            "/staff/reconcile/stripe-report",
            data={"report": (io.BytesIO(data), "r.csv")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(ReconcileRun)) == 0
