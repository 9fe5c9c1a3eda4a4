"""`flask --app app reconcile stripe` (DESIGN.md §5) against a fake Stripe balance API."""

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import AuditLog
from funds import donations
from funds.ledger import figures
from funds.models import Account, Entry, Journal
from reconcile.models import ReconcileItem, ReconcileRun
from tests.factories import make_fund
from tests.payment_helpers import configured, pending_donation
from tests.stripe_balance import FakeStripeBalance


@pytest.fixture
def stripe_balance(app):
    with FakeStripeBalance() as fake, configured(app, STRIPE_SECRET_KEY="sk_test_fake", STRIPE_API_BASE=fake.url):
        yield fake


def paid(amount_fen=10000, fund=None, **donor):
    """An online donation whose Checkout payment succeeded, as the webhook would have recorded it."""
    donation = pending_donation(amount_fen, fund=fund, **donor)
    donations.succeed(donation, "stripe", payment_intent_id=f"pi_{donation.public_id}")
    db.session.commit()
    return donation


def run(runner, *args):
    db.session.rollback()
    result = runner.invoke(args=["reconcile", "stripe", "--json", *args])
    db.session.rollback()
    return result


def parsed(result) -> dict:
    return json.loads(result.stdout)


def fees_of(fund) -> int:
    db.session.rollback()
    return figures()[fund.id].fees_fen


def test_pages_through_every_row_posts_each_fee_once_and_exits_0(runner, stripe_balance, client, db):
    fund = make_fund()
    gifts = [paid(1000 + n, fund=fund) for n in range(130)]
    rows = [stripe_balance.charge(d, fee=30 + n % 7) for n, d in enumerate(gifts)]

    result = run(runner)

    assert result.exit_code == 0, result.output
    out = parsed(result)
    assert out["matched"] == 130 and out["items"] == []
    assert db.session.get(ReconcileRun, out["run"]).rows == 130
    listing = [r for r in stripe_balance.requests if r["path"] == "/v1/balance_transactions"]
    assert len(listing) == 2
    first, second = (dict(r["query"]) for r in listing)
    assert first["limit"] == "100" and first["expand[]"] == "data.source" and "starting_after" not in first
    newest_first = sorted(rows, key=lambda r: (r["created"], r["id"]), reverse=True)
    assert second["starting_after"] == newest_first[99]["id"]
    total_fees = sum(r["fee"] for r in rows)
    assert fees_of(fund) == total_fees
    api = client.get("/api/v1/funds").json["items"][0]
    assert api["fees_fen"] == total_fees
    raised = sum(d.amount_fen for d in gifts)
    assert api["raised_fen"] == raised and api["balance_fen"] == raised - total_fees

    again = run(runner)
    assert again.exit_code == 0, again.output
    assert parsed(again)["run"] != out["run"] and parsed(again)["matched"] == 130
    assert fees_of(fund) == total_fees
    fee_journals = db.session.scalar(select(func.count()).where(Journal.source_key.like("stripe:fee:%")))
    assert fee_journals == 130
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0


def test_each_kind_of_difference_is_reported_and_exits_1(runner, stripe_balance, db):
    fund = make_fund()
    fine, short, twice, absent = (paid(5000, fund=fund) for _ in range(4))
    stripe_balance.charge(fine, fee=170)
    stripe_balance.charge(short, amount=4999, fee=170)
    first = stripe_balance.charge(twice, fee=170)
    copy = stripe_balance.charge(twice, fee=170, created=first["created"] + 5)
    stranger = stripe_balance.add(
        "charge", 777, 26, source={"id": "ch_unknown", "object": "charge", "payment_intent": "pi_unknown"}
    )

    result = run(runner)

    assert result.exit_code == 1, result.output
    out = parsed(result)
    assert out["matched"] == 2
    items = {(i["kind"], i["reference"]): i for i in out["items"]}
    assert len(items) == 4
    assert items[("missing_here", stranger["id"])] == {
        "kind": "missing_here",
        "reference": stranger["id"],
        "amount_fen": 777,
        "difference_fen": 777,
        "donation": None,
        "layer": "donation_charge",
    }
    mismatch = [i for i in out["items"] if i["kind"] == "amount_mismatch"][0]
    assert mismatch["donation"] == short.public_id
    assert mismatch["amount_fen"] == 4999 and mismatch["difference_fen"] == -1
    duplicate = items[("duplicate", copy["id"])]
    assert duplicate["donation"] == twice.public_id and duplicate["amount_fen"] == 5000
    there = [i for i in out["items"] if i["kind"] == "missing_there"][0]
    assert there["donation"] == absent.public_id and there["difference_fen"] == -5000
    assert there["reference"] == f"pi_{absent.public_id}"
    # Fees of the money that is here are posted; not the duplicate's, nor the stranger's.
    assert fees_of(fund) == 3 * 170
    assert db.session.scalar(select(func.count()).select_from(ReconcileItem)) == 4
    assert db.session.scalar(select(func.count()).where(AuditLog.action == "reconcile.run")) == 1


def test_stdout_is_one_json_object_and_progress_goes_to_stderr(runner, stripe_balance, db):
    gift = paid(2000)
    stripe_balance.charge(gift, fee=68)
    result = run(runner)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["matched"] == 1
    assert result.stdout.count("\n") == 1
    assert "1 rows" in result.stderr

    human = runner.invoke(args=["reconcile", "stripe"])
    assert human.exit_code == 0 and "1 matched" in human.stdout


def test_the_period_is_sent_as_created_bounds_of_local_days(app, runner, stripe_balance, db):
    gift = paid(2000)
    zone = ZoneInfo(app.config["TIMEZONE"])
    today = datetime.now(zone).date()
    stripe_balance.charge(gift, fee=68)
    old = stripe_balance.add("charge", 999, 30, source={"id": "ch_old", "object": "charge"}, created=1_600_000_000)

    result = run(runner, "--since", today.isoformat(), "--until", today.isoformat())

    assert result.exit_code == 0, result.output
    query = dict(stripe_balance.requests[-1]["query"])
    start = datetime.combine(today, time.min, tzinfo=zone)
    assert int(query["created[gte]"]) == int(start.timestamp())
    assert int(query["created[lt]"]) == int((start + timedelta(days=1)).timestamp())
    assert parsed(result)["matched"] == 1
    # The whole history holds the old stranger too.
    assert {i["reference"] for i in parsed(run(runner))["items"]} == {old["id"]}
    # A donation paid before the period is not missing from the period's list.
    assert run(runner, "--since", (today + timedelta(days=1)).isoformat()).exit_code == 0


def test_a_period_that_ends_before_it_starts_is_refused(runner, stripe_balance, db):
    result = runner.invoke(args=["reconcile", "stripe", "--since", "2026-05-02", "--until", "2026-05-01"])
    assert result.exit_code == 2 and "reconciliation failed" in result.stderr
    assert db.session.scalar(select(func.count()).select_from(ReconcileRun)) == 0
    bad = runner.invoke(args=["reconcile", "stripe", "--since", "yesterday"])
    assert bad.exit_code == 2


def test_stripe_down_writes_nothing(runner, stripe_balance, db):
    stripe_balance.charge(paid(2000), fee=68)
    stripe_balance.fail = True
    result = run(runner)
    assert result.exit_code == 2 and result.stdout == ""
    assert "reconciliation failed" in result.stderr
    assert db.session.scalar(select(func.count()).select_from(ReconcileRun)) == 0
    assert db.session.scalar(select(func.count()).where(Journal.source_key.like("stripe:fee:%"))) == 0


def test_refunds_are_compared_per_donation(runner, stripe_balance, db):
    fund = make_fund()
    refunded, unrecorded = paid(8000, fund=fund), paid(6000, fund=fund)
    donations.refund(refunded, 3000, "stripe", source_key="stripe:evt_r1")
    db.session.commit()
    for gift in (refunded, unrecorded):
        stripe_balance.charge(gift, fee=100)
    stripe_balance.refund(refunded, 1000)
    stripe_balance.refund(refunded, 2000)
    lost = stripe_balance.refund(unrecorded, 6000)

    out = parsed(run(runner))

    assert out["matched"] == 4
    assert out["items"] == [
        {
            "kind": "missing_here",
            "reference": lost["id"],
            "amount_fen": -6000,
            "difference_fen": -6000,
            "donation": unrecorded.public_id,
            "layer": "donation_charge",
        }
    ]


def test_a_changed_fee_is_a_mismatch_and_is_not_posted_again(runner, stripe_balance, db):
    fund = make_fund()
    gift = paid(5000, fund=fund)
    row = stripe_balance.charge(gift, fee=170)
    assert run(runner).exit_code == 0
    row["fee"], row["net"] = 171, 5000 - 171
    result = run(runner)
    assert result.exit_code == 1
    [item] = parsed(result)["items"]
    assert item["kind"] == "amount_mismatch" and item["difference_fen"] == 1 and item["reference"] == f"{row['id']}:fee"
    assert fees_of(fund) == 170


def test_a_payout_moves_each_funds_share_from_stripe_to_the_bank(runner, stripe_balance, db):
    a, b = make_fund(), make_fund(slug="dianliang", name="点亮希望专项基金")
    rows = [stripe_balance.charge(paid(10000, fund=a), fee=340), stripe_balance.charge(paid(5000, fund=b), fee=170)]
    stripe_balance.payout(rows)
    before = figures()

    result = run(runner)

    assert result.exit_code == 0, result.output
    after = figures()
    assert after[a.id].balance_fen == before[a.id].balance_fen - 340
    bank = dict(
        db.session.execute(
            select(Entry.fund_id, func.sum(Entry.amount_fen))
            .join(Account, Entry.account_id == Account.id)
            .where(Account.code == "asset:bank")
            .group_by(Entry.fund_id)
        ).all()
    )
    assert bank == {a.id: 10000 - 340, b.id: 5000 - 170}
    assert [dict(r["query"]).get("payout") for r in stripe_balance.requests][-1].startswith("po_")
    again = run(runner)
    assert again.exit_code == 0
    assert db.session.scalar(select(func.count()).where(Journal.source_key.like("stripe:payout:%"))) == 2
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0


def test_a_payout_holding_money_of_no_fund_moves_nothing_and_is_an_item(runner, stripe_balance, db):
    row = stripe_balance.charge(paid(10000), fee=340)
    stranger = stripe_balance.add("fee", -500, 0, source=None)
    po = stripe_balance.payout([row, stranger])
    result = run(runner)
    assert result.exit_code == 1
    assert parsed(result)["items"] == [
        {
            "kind": "no_fund",
            "reference": po["source"]["id"],
            "amount_fen": 10000 - 340 - 500,
            "difference_fen": -500,
            "donation": None,
            "layer": "charge_payout",
        }
    ]
    assert db.session.scalar(select(func.count()).where(Journal.source_key.like("stripe:payout:%"))) == 0


def test_a_payout_whose_rows_do_not_add_up_and_a_stranger_in_a_payout_are_items(runner, stripe_balance, db):
    fund = make_fund()
    old = stripe_balance.charge(paid(8000, fund=fund), fee=272)
    # A stranger's charge of long ago (layer one of this period does not see it) in today's payout.
    stranger = stripe_balance.add(
        "charge", 777, 26, source={"id": "ch_gone", "object": "charge"}, created=1_600_000_100
    )
    short = stripe_balance.payout([old])
    short["amount"] = short["net"] = -(8000 - 272) + 5
    with_stranger = stripe_balance.payout([stripe_balance.charge(paid(3000, fund=fund), fee=102), stranger])
    # A charge of the period that no payout has taken yet is no item.
    stripe_balance.charge(paid(2000, fund=fund), fee=68)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()

    out = parsed(run(runner, "--since", today, "--until", today))

    got = {(i["layer"], i["kind"], i["reference"]): (i["amount_fen"], i["difference_fen"]) for i in out["items"]}
    assert got == {
        ("charge_payout", "amount_mismatch", short["source"]["id"]): (8000 - 272 - 5, -5),
        ("charge_payout", "missing_here", stranger["id"]): (777, 777),
        ("charge_payout", "no_fund", with_stranger["source"]["id"]): (3000 - 102 + 777 - 26, 777 - 26),
    }
    assert db.session.scalar(select(func.count()).where(Journal.source_key.like("stripe:payout:%"))) == 0


def test_without_stripe_the_command_says_so(app, runner, db):
    with configured(app, STRIPE_SECRET_KEY="", STRIPE_API_BASE=""):
        result = runner.invoke(args=["reconcile", "stripe", "--json"])
    assert result.exit_code == 2 and result.stdout == ""


def test_dates_on_runs_are_local_days(runner, stripe_balance, db):
    stripe_balance.charge(paid(2000), fee=68)
    out = parsed(run(runner, "--since", "2026-01-01", "--until", "2026-12-31"))
    stored = db.session.get(ReconcileRun, out["run"])
    assert (stored.since, stored.until) == (date(2026, 1, 1), date(2026, 12, 31))
    assert stored.started_at.astimezone(UTC) <= datetime.now(UTC)


def test_the_statement_shows_fees_and_ties_to_the_ledger(app, runner, stripe_balance, db):
    from funds import statements

    fund = make_fund()
    gift = paid(5000, fund=fund)
    stripe_balance.charge(gift, fee=170)
    assert run(runner).exit_code == 0
    with app.test_request_context("/?lang=en"):
        statement = statements.build(db.session.get(type(fund), fund.id))
        whats = [m.what for m in statement.movements]
        assert whats == ["Donation (Bank card)", "Processor fee"]
        assert statement.fee_fen == 170 and statement.closing_fen == figures()[fund.id].balance_fen == 4830
        # The fee is shown against the gift's public name (the surname alone, as nobody chose one).
        assert statement.movements[1].who == "周**" and gift.name == "周先生"


def test_a_donation_belongs_to_the_period_from_the_first_moment_of_its_first_local_day_to_before_the_next_after_its_last(
    app, db
):
    from reconcile.services import ledger_donations

    zone = ZoneInfo(app.config["TIMEZONE"])
    since, until = date(2026, 5, 1), date(2026, 5, 31)
    first = datetime.combine(since, time.min, tzinfo=zone)
    after = datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone)
    moments = {
        "just before": first - timedelta(seconds=1),
        "first moment": first,
        "last second": after - timedelta(seconds=1),
        "next day": after,
    }
    fund, gifts = make_fund(), {}
    for label, moment in moments.items():
        gift = paid(1000, fund=fund)
        gift.succeeded_at = moment.astimezone(UTC)
        gifts[gift.id] = label
    db.session.commit()

    within = {gifts[d.id]: d.in_period for d in ledger_donations(since, until) if d.id in gifts}
    assert within == {"just before": False, "first moment": True, "last second": True, "next day": False}
    assert all(d.in_period for d in ledger_donations(None, None) if d.id in gifts)
