"""The inbox's actions beyond a note: a correcting journal posted through the funds ledger service, and a
row or line that names no donation linked to the donation it belongs to."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests
from flask_babel import force_locale
from sqlalchemy import func, select

from core.clock import local_today
from core.extensions import db as _db
from core.models import AuditLog, Role
from funds import disbursements, donations, statements
from funds.ledger import balance_of, figures
from funds.models import Account, Entry, Journal
from reconcile import bank
from reconcile.models import BankMatch, ReconcileItem, ReconcileRun
from tests.factories import PASSWORD, login, make_fund, make_user
from tests.helpers import fast_passwords  # noqa: F401 (an autouse fixture)
from tests.payment_helpers import pending_donation
from tests.test_reconcile_stripe import paid, parsed, run, stripe_balance  # noqa: F401 (a fixture)


def items(run_id: int, kind: str | None = None) -> list[ReconcileItem]:
    query = select(ReconcileItem).where(ReconcileItem.run_id == run_id).order_by(ReconcileItem.id)
    if kind:
        query = query.where(ReconcileItem.kind == kind)
    return list(_db.session.scalars(query))


def count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def mismatch_run(runner, stripe_balance, db, fund):  # noqa: F811
    gift = paid(5000, fund=fund)
    stripe_balance.charge(gift, amount=4999, fee=170)
    out = parsed(run(runner))
    [item] = items(out["run"], "amount_mismatch")
    return gift, item


# --- a correcting journal ------------------------------------------------------------------------


def test_a_correcting_journal_is_prefilled_posted_shown_and_not_reported_again(
    app,
    client,
    runner,
    stripe_balance,  # noqa: F811
    db,
):
    fund = make_fund()
    gift, item = mismatch_run(runner, stripe_balance, db, fund)
    admin = make_user(Role.FUND_ADMIN)
    login(client, admin)
    page = client.get(f"/staff/reconcile/{item.run_id}")
    assert f"/staff/reconcile/items/{item.id}/journal" in page.text

    form = client.get(f"/staff/reconcile/items/{item.id}/journal")
    assert form.status_code == 200
    # The item's exact difference, on the fund of the gift: one fen out of the Stripe balance.
    assert 'value="0.01"' in form.text
    assert f'<option selected value="{fund.id}">' in form.text
    assert '<option selected value="asset:stripe">' in form.text
    assert '<option selected value="income:donations">' in form.text
    assert 'value="out" checked' in form.text or 'checked id="direction-1"' in form.text

    before = balance_of(fund.id)
    posted = client.post(
        f"/staff/reconcile/items/{item.id}/journal",
        data={
            "fund": fund.id,
            "asset": "asset:stripe",
            "direction": "out",
            "amount": "0.01",
            "counter": "income:donations",
            "note": "Stripe 少收 1 分，按 Stripe 更正",
        },
    )
    assert posted.status_code == 302
    db.session.rollback()
    done = db.session.get(ReconcileItem, item.id)
    assert done.status == "resolved" and done.journal_id is not None
    lines = dict(
        db.session.execute(
            select(Account.code, Entry.amount_fen)
            .join(Entry, Entry.account_id == Account.id)
            .where(Entry.journal_id == done.journal_id)
        ).all()
    )
    assert lines == {"asset:stripe": -1, "income:donations": 1}
    journal = db.session.get(Journal, done.journal_id)
    assert journal.fund_id == fund.id and "Stripe 少收 1 分" in journal.memo
    assert balance_of(fund.id) == before - 1
    actions = set(db.session.scalars(select(AuditLog.action)))
    assert {"ledger.correction_posted", "reconcile.item_resolved"} <= actions
    shown = client.get(f"/staff/reconcile/{item.run_id}")
    assert f'data-journal="{done.journal_id}"' in shown.text
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0
    with app.test_request_context("/"), force_locale("en"):
        made = statements.build(db.session.get(type(fund), fund.id))
        assert made.movements[-1].what == "Correction" and made.movements[-1].out_fen == 1
        assert made.closing_fen == balance_of(fund.id)
    export = client.get(f"/staff/reconcile/{item.run_id}/items.csv").text
    assert str(done.journal_id) in export.splitlines()[1]

    # The next run finds the same difference on the same row: answered already, not reported again.
    again = run(runner)
    assert again.exit_code == 0 and parsed(again)["items"] == []
    # The same item cannot be corrected twice.
    twice = client.post(
        f"/staff/reconcile/items/{item.id}/journal",
        data={
            "fund": fund.id,
            "asset": "asset:stripe",
            "direction": "out",
            "amount": "0.01",
            "counter": "income:donations",
            "note": "again",
        },
    )
    assert twice.status_code == 302
    db.session.rollback()
    assert count(db, Journal, Journal.source_key.like("correction:%")) == 1


def test_a_correction_never_takes_a_fund_below_zero_and_bad_input_writes_nothing(
    client,
    runner,
    stripe_balance,  # noqa: F811
    db,
):
    fund = make_fund()
    _gift, item = mismatch_run(runner, stripe_balance, db, fund)
    login(client, make_user(Role.FUND_ADMIN))
    have = balance_of(fund.id)
    good = {
        "fund": fund.id,
        "asset": "asset:stripe",
        "direction": "out",
        "amount": "0.01",
        "counter": "income:donations",
        "note": "更正",
    }
    for change, message in (
        ({"amount": f"{(have + 1) / 100:.2f}"}, "would leave it below zero"),
        ({"note": ""}, None),
        ({"amount": "-3"}, None),
        ({"amount": "abc"}, None),
        ({"fund": 0}, None),
        ({"counter": "asset:stripe"}, None),
        ({"asset": "expense:fees"}, None),
    ):
        refused = client.post(f"/staff/reconcile/items/{item.id}/journal?lang=en", data={**good, **change})
        assert refused.status_code == 422, change
        if message:
            assert message in refused.text
        db.session.rollback()
        assert count(db, Journal, Journal.source_key.like("correction:%")) == 0
        assert db.session.get(ReconcileItem, item.id).status == "open"
    assert balance_of(fund.id) == have


def test_only_a_fund_admin_corrects_an_open_item_of_an_open_run(client, runner, stripe_balance, db):  # noqa: F811
    fund = make_fund()
    _gift, item = mismatch_run(runner, stripe_balance, db, fund)
    data = {
        "fund": fund.id,
        "asset": "asset:stripe",
        "direction": "out",
        "amount": "0.01",
        "counter": "income:donations",
        "note": "更正",
    }
    assert client.post(f"/staff/reconcile/items/{item.id}/journal", data=data).status_code in (302, 401)
    login(client, make_user(Role.CASEWORKER, email="cw@example.org"))
    assert client.post(f"/staff/reconcile/items/{item.id}/journal", data=data).status_code == 403
    client.get("/logout")
    admin = make_user(Role.FUND_ADMIN)
    login(client, admin)
    client.post(f"/staff/reconcile/items/{item.id}/resolve", data={"note": "已核实"})
    # Resolved with a note: no journal any more.
    page = client.post(f"/staff/reconcile/items/{item.id}/journal", data=data)
    assert page.status_code == 302
    client.post(f"/staff/reconcile/{item.run_id}/close")
    db.session.rollback()
    assert db.session.get(ReconcileRun, item.run_id).status == "closed"
    closed = client.get(f"/staff/reconcile/items/{item.id}/journal")
    assert closed.status_code == 302
    db.session.rollback()
    assert count(db, Journal, Journal.source_key.like("correction:%")) == 0


# --- a link to a donation: Stripe ---------------------------------------------------------------


def test_a_stripe_row_naming_no_donation_is_linked_and_the_next_run_matches_it(
    client,
    runner,
    stripe_balance,  # noqa: F811
    db,
):
    fund = make_fund()
    lost = pending_donation(777, fund=fund)
    # The payment was recorded without Stripe's ids (the event carried none).
    donations.succeed(lost, "stripe")
    other = paid(777, fund=fund)
    wrong_amount = paid(780, fund=fund)
    transfer = donations.record_offline(
        make_user(Role.FUND_ADMIN, email="a2@example.org"),
        donations.Target(fund),
        777,
        donations.DonorInput(name="陈女士", contact="13800002222"),
        "bank_transfer",
        "REF-777",
    )
    db.session.commit()
    for gift in (other, wrong_amount):
        stripe_balance.charge(gift, fee=26)
    stripe_balance.add("charge", 777, 26, source={"id": "ch_lost", "object": "charge", "payment_intent": "pi_lost"})
    out = parsed(run(runner))
    [item] = items(out["run"], "missing_here")
    assert item.external_ref == "ch_lost"
    assert {i["kind"] for i in out["items"]} == {"missing_here", "missing_there"}

    admin = make_user(Role.FUND_ADMIN)
    login(client, admin)
    page = client.get(f"/staff/reconcile/items/{item.id}/link")
    assert page.status_code == 200
    rows = page.text
    # Every online donation of the amount is listed; the one paid through another payment is refused.
    assert f'data-donation="{lost.public_id}"' in rows and f'data-donation="{other.public_id}"' in rows
    assert "another Stripe payment" in client.get(f"/staff/reconcile/items/{item.id}/link?lang=en").text
    assert f'data-donation="{transfer.public_id}"' not in rows
    by_amount = client.get(f"/staff/reconcile/items/{item.id}/link?q=7.80")
    assert "0.03" in by_amount.text  # the difference is said
    by_receipt = client.get(f"/staff/reconcile/items/{item.id}/link?q={lost.receipt_no}")
    assert by_receipt.text.count("data-donation=") == 1

    for refused in (other, wrong_amount, transfer):
        answer = client.post(
            f"/staff/reconcile/items/{item.id}/link", data={"donation": refused.public_id, "note": "是这笔"}
        )
        assert answer.status_code == 422
    no_note = client.post(f"/staff/reconcile/items/{item.id}/link", data={"donation": lost.public_id, "note": ""})
    assert no_note.status_code == 422
    db.session.rollback()
    assert db.session.get(ReconcileItem, item.id).status == "open"

    linked = client.post(
        f"/staff/reconcile/items/{item.id}/link", data={"donation": lost.public_id, "note": "Webhook 未带付款编号"}
    )
    assert linked.status_code == 302
    db.session.rollback()
    done = db.session.get(ReconcileItem, item.id)
    assert done.status == "resolved" and done.linked_donation_id == lost.id
    assert f'data-linked="{lost.public_id}"' in client.get(f"/staff/reconcile/{item.run_id}").text
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "reconcile.item_resolved"))
    assert audit.after["how"] == "linked" and audit.actor_id == admin.id

    # The next run finds the donation through the link: the charge is matched, nothing is missing.
    again = parsed(run(runner))
    assert again["items"] == [] and again["matched"] == 3
    assert figures()[fund.id].fees_fen == 3 * 26


# --- a link to a donation: the bank -------------------------------------------------------------


def statement(lines: list[tuple[str, str, str, str]]) -> bytes:
    body = "日期,金额,对方户名,附言\n" + "".join(f"{d},{a},{c},{r}\n" for d, a, c, r in lines)
    return body.encode("utf-8")


MAPPING = {"date": 0, "amount": 1, "counterparty": 2, "reference": 3}


def test_a_bank_line_is_linked_settles_the_donation_and_the_next_statement_does_not_report_it(client, db):
    fund = make_fund()
    admin = make_user(Role.FUND_ADMIN)
    early = local_today() - timedelta(days=20)
    gift = donations.record_offline(
        admin,
        donations.Target(fund),
        50_000,
        donations.DonorInput(name="周先生", contact="13800004444"),
        "bank_transfer",
        "WXY-BR-000999",
        received_on=early,
    )
    taken = donations.record_offline(
        admin,
        donations.Target(fund),
        50_000,
        donations.DonorInput(name="李女士", contact="13800005555"),
        "bank_transfer",
        "WXY-BR-000888",
        received_on=early,
    )
    db.session.commit()
    day = local_today().isoformat()
    # The transfer reached the bank weeks later, without the reference: nothing ties it to the gift.
    _statement, first = bank.import_statement(
        admin,
        "a.csv",
        statement([(day, "500.00", "周先生", "捐款"), (early.isoformat(), "500.00", "李女士", "WXY-BR-000888")]),
        MAPPING,
    )
    db.session.commit()
    [item] = items(first.id, "missing_here")
    assert item.layer == "bank" and item.bank_line_id is not None

    login(client, admin)
    page = client.get(f"/staff/reconcile/items/{item.id}/link?q=WXY-BR-000999")
    assert f'data-donation="{gift.public_id}"' in page.text
    settled = client.post(
        f"/staff/reconcile/items/{item.id}/link?lang=en", data={"donation": taken.public_id, "note": "是李女士的"}
    )
    assert settled.status_code == 422
    assert "A bank line settled this donation already." in settled.text
    linked = client.post(
        f"/staff/reconcile/items/{item.id}/link", data={"donation": gift.public_id, "note": "周先生电话确认"}
    )
    assert linked.status_code == 302
    db.session.rollback()
    assert count(db, BankMatch, BankMatch.entry_key == f"donation:{gift.id}") == 1

    # A statement covering the day the gift was recorded does not report it as missing any more.
    _statement, second = bank.import_statement(
        admin, "b.csv", statement([(early.isoformat(), "12.00", "银行", "手续费")]), MAPPING
    )
    db.session.commit()
    assert {i.entry_key for i in items(second.id, "missing_there")} == set()


def test_a_link_is_refused_for_an_item_that_names_a_donation_or_money_out(client, runner, stripe_balance, db):  # noqa: F811
    fund = make_fund()
    _gift, item = mismatch_run(runner, stripe_balance, db, fund)
    login(client, make_user(Role.FUND_ADMIN))
    assert client.get(f"/staff/reconcile/items/{item.id}/link").status_code == 302
    assert client.post(f"/staff/reconcile/items/{item.id}/link", data={"donation": "x", "note": "y"}).status_code == 302
    db.session.rollback()
    assert db.session.get(ReconcileItem, item.id).status == "open"


# --- at the same moment, over real HTTP --------------------------------------------------------


def _signed_in(live_server, users) -> list[requests.Session]:
    sessions = []
    for user in users:
        session = requests.Session()
        answer = session.post(
            f"{live_server.url}/login", data={"email": user.email, "password": PASSWORD}, allow_redirects=False
        )
        assert answer.status_code == 302
        sessions.append(session)
    return sessions


def _at_once(calls) -> list:
    start = threading.Event()

    def call(fn):
        start.wait()
        return fn()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call, fn) for fn in calls]
        start.set()
        return [f.result() for f in futures]


def test_corrections_at_the_same_moment_never_take_a_fund_below_zero(live_server, db):
    fund = make_fund()
    admins = [make_user(Role.FUND_ADMIN) for _ in range(4)]
    gifts = [
        donations.record_offline(
            admins[0],
            donations.Target(fund),
            6_000,
            donations.DonorInput(name="周先生", contact="13800004444"),
            "bank_transfer",
            f"WXY-BR-00100{n}",
        )
        for n in range(4)
    ]
    disbursements.request(admins[0], fund, disbursements.DisbursementInput("supplier", 10_000, "文具店", "铅笔"))
    db.session.commit()
    assert balance_of(fund.id) == 14_000
    # The statement holds none of the four transfers: each is missing there, 60 yuan too many in the ledger.
    _statement, run_ = bank.import_statement(
        admins[0], "c.csv", statement([(local_today().isoformat(), "12.00", "银行", "利息")]), MAPPING
    )
    db.session.commit()
    found = [i.id for i in items(run_.id, "missing_there") if i.entry_key and i.entry_key.startswith("donation:")]
    assert len(found) == len(gifts)
    sessions = _signed_in(live_server, admins)
    body = {
        "fund": fund.id,
        "asset": "asset:bank",
        "direction": "out",
        "amount": "60.00",
        "counter": "income:donations",
        "note": "转账未到账，冲回",
    }
    results = _at_once(
        [
            lambda s=s, i=i: s.post(
                f"{live_server.url}/staff/reconcile/items/{i}/journal", data=body, allow_redirects=False
            )
            for s, i in zip(sessions, found, strict=True)
        ]
    )

    assert sorted(r.status_code for r in results) == [302, 302, 422, 422]
    db.session.rollback()
    assert balance_of(fund.id) == 2_000
    assert count(db, Journal, Journal.source_key.like("correction:%")) == 2
    assert sum(db.session.get(ReconcileItem, i).status == "resolved" for i in found) == 2


def test_two_lines_linked_to_one_donation_at_the_same_moment_settle_it_once(live_server, db):
    fund = make_fund()
    admins = [make_user(Role.FUND_ADMIN) for _ in range(2)]
    early = local_today() - timedelta(days=20)
    gift = donations.record_offline(
        admins[0],
        donations.Target(fund),
        50_000,
        donations.DonorInput(name="周先生", contact="13800004444"),
        "bank_transfer",
        "WXY-BR-000999",
        received_on=early,
    )
    db.session.commit()
    day = local_today().isoformat()
    _statement, run_ = bank.import_statement(
        admins[0], "d.csv", statement([(day, "500.00", "周先生", "捐款"), (day, "500.00", "周太太", "捐款")]), MAPPING
    )
    db.session.commit()
    lines = items(run_.id, "missing_here")
    assert len(lines) == 2
    public_id, ids = gift.public_id, [line.id for line in lines]
    sessions = _signed_in(live_server, admins)
    results = _at_once(
        [
            lambda s=s, i=i: s.post(
                f"{live_server.url}/staff/reconcile/items/{i}/link",
                data={"donation": public_id, "note": "电话确认"},
                allow_redirects=False,
            )
            for s, i in zip(sessions, ids, strict=True)
        ]
    )

    assert sorted(r.status_code for r in results) == [302, 422]
    db.session.rollback()
    assert count(db, BankMatch, BankMatch.entry_key == f"donation:{gift.id}") == 1
    assert count(db, ReconcileItem, ReconcileItem.linked_donation_id == gift.id) == 1
