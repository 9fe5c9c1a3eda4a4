"""A Stripe run started on the web reads Stripe in the background: the run page shows its progress while it
runs (a JSON status endpoint polled by a small script, a refresh without JavaScript), then its results; a
run Stripe does not answer fails with the reason and writes nothing; one Stripe run at a time."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.clock import utcnow
from core.models import AuditLog, Role
from funds.models import Journal
from reconcile import worker
from reconcile.models import ReconcileItem, ReconcileRun
from tests.factories import login, make_fund, make_user
from tests.payment_helpers import configured
from tests.test_reconcile_desk import finished
from tests.test_reconcile_stripe import paid, stripe_balance  # noqa: F401 (a fixture)


def status(client, db, run_id: int) -> dict:
    db.session.rollback()
    answer = client.get(f"/staff/reconcile/{run_id}/status")
    db.session.rollback()
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "private, no-store"
    return answer.json


def wait_until(check, seconds: float = 10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("the condition never held")


def count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_run_page_shows_progress_mid_run_then_the_results(app, client, db, stripe_balance):  # noqa: F811
    fund = make_fund()
    for gift in [paid(1000 + n, fund=fund) for n in range(130)]:
        stripe_balance.charge(gift, fee=30)
    stripe_balance.add("charge", 777, 26, source={"id": "ch_x", "object": "charge"})
    stripe_balance.holding = True
    login(client, make_user(Role.FUND_ADMIN))

    started = client.post("/staff/reconcile/stripe", data={"since": "", "until": ""})
    assert started.status_code == 302
    db.session.rollback()
    run_id = db.session.scalar(select(func.max(ReconcileRun.id)))
    try:
        # The first page is read and counted; the second waits at the fake Stripe.
        mid = wait_until(lambda: (body := status(client, db, run_id))["rows"] == 100 and body)
        assert mid["status"] == "running" and mid["pages"] == 1 and mid["elapsed_seconds"] >= 0
        page = client.get(started.headers["Location"])
        db.session.rollback()
        assert 'id="run-progress"' in page.text and 'id="progress-rows">100<' in page.text
        assert '<noscript><meta http-equiv="refresh"' in page.text and "js/reconcile-run.js" in page.text
        assert "data-item=" not in page.text
        # One Stripe run at a time.
        second = client.post("/staff/reconcile/stripe?lang=en", data={"since": "", "until": ""})
        assert second.status_code == 422 and "running already" in second.text
        db.session.rollback()
        assert count(db, ReconcileRun) == 1
    finally:
        stripe_balance.release()
    run = finished(app, db)
    assert run.status == "open" and run.rows == 131 and run.matched == 130 and run.pages == 2
    done = status(client, db, run_id)
    assert done["status"] == "open" and done["rows"] == 131
    page = client.get(f"/staff/reconcile/{run_id}")
    db.session.rollback()
    assert 'id="run-progress"' not in page.text and page.text.count("data-item=") == 1
    actions = list(
        db.session.scalars(
            select(AuditLog.action).where(AuditLog.object_type == "reconcile_runs").order_by(AuditLog.id)
        )
    )
    assert actions == ["reconcile.started", "reconcile.run"]


def test_stripe_not_answering_fails_the_run_with_the_reason_and_writes_nothing(
    app,
    client,
    db,
    stripe_balance,  # noqa: F811
):
    stripe_balance.charge(paid(2000), fee=68)
    stripe_balance.fail = True
    login(client, make_user(Role.FUND_ADMIN))
    started = client.post("/staff/reconcile/stripe?lang=en", data={"since": "", "until": ""})
    assert started.status_code == 302
    run = finished(app, db)
    assert run.status == "failed" and run.failure
    assert count(db, ReconcileItem) == 0
    assert count(db, Journal, Journal.source_key.like("stripe:fee:%")) == 0
    body = status(client, db, run.id)
    assert body["status"] == "failed" and body["failure"] == run.failure
    page = client.get(f"/staff/reconcile/{run.id}?lang=en")
    db.session.rollback()
    assert "The run failed" in page.text and run.failure in page.text
    assert "Close the reconciliation" not in page.text
    assert client.post(f"/staff/reconcile/{run.id}/close").status_code == 302
    db.session.rollback()
    assert db.session.get(ReconcileRun, run.id).status == "failed"
    # A failed run does not block the next one.
    stripe_balance.fail = False
    assert client.post("/staff/reconcile/stripe", data={"since": "", "until": ""}).status_code == 302
    assert finished(app, db).status == "open"


def test_a_run_whose_process_died_is_shown_failed_and_does_not_block_the_next(
    app,
    client,
    db,
    stripe_balance,  # noqa: F811
):
    admin = make_user(Role.FUND_ADMIN)
    long_ago = utcnow() - timedelta(hours=1)
    dead = ReconcileRun(
        source="stripe", status="running", actor_label=f"user:{admin.id}", started_at=long_ago, heartbeat_at=long_ago
    )
    db.session.add(dead)
    db.session.commit()
    login(client, admin)
    assert status(client, db, dead.id)["status"] == "failed"
    page = client.get(f"/staff/reconcile/{dead.id}")
    db.session.rollback()
    assert 'data-status="failed"' in page.text and 'id="run-progress"' not in page.text

    assert client.post("/staff/reconcile/stripe", data={"since": "", "until": ""}).status_code == 302
    assert finished(app, db).status == "open"
    assert db.session.get(ReconcileRun, dead.id).status == "failed"


def test_the_database_holds_one_running_stripe_run(db):
    for _ in range(2):
        db.session.add(ReconcileRun(source="stripe", status="running", actor_label="test"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_without_stripe_or_as_another_role_nothing_starts(app, client, db):
    login(client, make_user(Role.FUND_ADMIN))
    with configured(app, STRIPE_SECRET_KEY="", STRIPE_API_BASE=""):
        refused = client.post("/staff/reconcile/stripe?lang=en", data={"since": "", "until": ""})
    assert refused.status_code == 422 and "Stripe is not configured" in refused.text
    client.get("/logout")
    login(client, make_user(Role.CASEWORKER, email="cw@example.org"))
    assert client.post("/staff/reconcile/stripe", data={}).status_code == 403
    db.session.rollback()
    assert count(db, ReconcileRun) == 0
    run = ReconcileRun(source="stripe", status="open", actor_label="test")
    db.session.add(run)
    db.session.commit()
    assert client.get(f"/staff/reconcile/{run.id}/status").status_code == 403
    assert worker.THREADS not in app.extensions or not app.extensions[worker.THREADS]
