"""The reconciliation desk: a fund administrator runs a Stripe reconciliation, resolves its items, closes it."""

from sqlalchemy import func, select

from core.models import AuditLog, Role
from reconcile import worker
from reconcile.models import ReconcileItem, ReconcileRun
from tests.factories import login, make_fund, make_user
from tests.test_reconcile_stripe import paid, stripe_balance  # noqa: F401 (a fixture)


def finished(app, db) -> ReconcileRun:
    """The latest run, once the worker carrying it out has ended."""
    # The test shares the requests' session: it must not hold SQLite's write lock while the worker writes.
    db.session.rollback()
    run_id = db.session.scalar(select(func.max(ReconcileRun.id)))
    db.session.rollback()
    worker.wait(app, run_id)
    db.session.rollback()
    return db.session.get(ReconcileRun, run_id)


def test_run_resolve_close_and_export(app, client, db, stripe_balance):  # noqa: F811
    fund = make_fund()
    fine = paid(5000, fund=fund)
    paid(3000, fund=fund)
    stripe_balance.charge(fine, fee=170)
    stripe_balance.add("charge", 777, 26, source={"id": "ch_x", "object": "charge"})
    admin = make_user(Role.FUND_ADMIN)
    login(client, admin)
    assert 'data-open-items="0"' in client.get("/staff/funds").text

    started = client.post("/staff/reconcile/stripe", data={"since": "", "until": ""})
    assert started.status_code == 302
    run = finished(app, db)
    page = client.get(started.headers["Location"])
    assert page.status_code == 200
    assert page.text.count("data-item=") == 2 and 'data-kind="missing_there"' in page.text
    assert "Close the reconciliation" not in page.text and "结束本次对账" not in page.text
    assert 'data-open-items="2"' in client.get("/staff/funds").text

    items = db.session.scalars(select(ReconcileItem).order_by(ReconcileItem.id)).all()
    refused = client.post(f"/staff/reconcile/{run.id}/close")
    assert refused.status_code == 302
    db.session.rollback()
    assert db.session.get(ReconcileRun, run.id).status == "open"
    client.post(f"/staff/reconcile/items/{items[0].id}/resolve", data={"note": ""})
    db.session.rollback()
    assert db.session.get(ReconcileItem, items[0].id).status == "open"
    for item in items:
        client.post(f"/staff/reconcile/items/{item.id}/resolve", data={"note": '=HYPERLINK("x") 与银行核实'})
    client.post(f"/staff/reconcile/{run.id}/close")
    db.session.rollback()
    closed = db.session.get(ReconcileRun, run.id)
    assert closed.status == "closed" and closed.closed_by_id == admin.id
    actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("reconcile.%"))))
    assert actions.count("reconcile.item_resolved") == 2 and "reconcile.closed" in actions
    # Closed is read-only.
    client.post(f"/staff/reconcile/items/{items[0].id}/resolve", data={"note": "again"})
    db.session.rollback()
    assert db.session.get(ReconcileItem, items[0].id).note.startswith("=HYPERLINK")
    export = client.get(f"/staff/reconcile/{run.id}/items.csv")
    assert export.status_code == 200
    assert "'=HYPERLINK" in export.text
    # The export speaks the reader's words: each item's state, never its stored code.
    states = [row.split(",")[6] for row in export.text.lstrip("\ufeff").splitlines()[1:]]
    assert states == ["已处理", "已处理"]


def test_only_fund_admins_reach_the_desk(client, db, stripe_balance):  # noqa: F811
    login(client, make_user(Role.CASEWORKER))
    assert client.get("/staff/reconcile").status_code == 403
    assert client.post("/staff/reconcile/stripe", data={}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ReconcileRun)) == 0


def test_a_backwards_period_is_a_form_message(client, db, stripe_balance):  # noqa: F811
    login(client, make_user(Role.FUND_ADMIN))
    response = client.post("/staff/reconcile/stripe", data={"since": "2026-05-02", "until": "2026-05-01"})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(ReconcileRun)) == 0


def test_items_show_their_layer_and_filter_by_it_on_the_page_and_in_the_export(app, client, db, stripe_balance):  # noqa: F811
    fund = make_fund()
    stripe_balance.add("charge", 777, 26, source={"id": "ch_x", "object": "charge"})
    row = stripe_balance.charge(paid(5000, fund=fund), fee=170)
    billing = stripe_balance.add("stripe_fee", -500, 0, source=None)
    stripe_balance.payout([row, billing])
    login(client, make_user(Role.FUND_ADMIN))
    client.post("/staff/reconcile/stripe", data={"since": "", "until": ""})
    run = finished(app, db)

    page = client.get(f"/staff/reconcile/{run.id}?lang=en").text
    assert page.count('data-layer="donation_charge"') == 2 and page.count('data-layer="charge_payout"') == 2
    assert "Charge ↔ payout" in page and "Money of no fund" in page
    only = client.get(f"/staff/reconcile/{run.id}?layer=charge_payout").text
    assert only.count("<tr data-item=") == 1 and 'data-kind="no_fund"' in only
    everything = client.get(f"/staff/reconcile/{run.id}?layer=nonsense").text
    assert everything.count("<tr data-item=") == 2
    export = client.get(f"/staff/reconcile/{run.id}/items.csv?lang=en").text.splitlines()
    assert export[0].lstrip("\ufeff").startswith("Layer,Kind,Reference")
    assert sorted(line.split(",")[0] for line in export[1:]) == ["Charge ↔ payout", "Donation ↔ charge"]
