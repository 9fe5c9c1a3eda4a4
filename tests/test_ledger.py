"""Donations through the ledger: balanced journals, derived figures, refunds, disputes, receipts."""

import threading

import pytest
from sqlalchemy import insert, text

from core.errors import ValidationError
from core.models import Role
from funds import donations as funds
from funds import integrity, ledger
from funds.ledger import LedgerError
from funds.models import DonationStatus, Entry, Journal, LedgerImmutable
from tests.factories import make_fund, make_user


def donor(**overrides):
    data = {"name": "周先生", "contact": "13800001111"}
    data.update(overrides)
    return funds.DonorInput(**data)


def cash(admin, fund, amount=10000, **kw):
    return funds.record_offline(admin, funds.Target(fund), amount, donor(**kw), "cash", "六一义卖现场")


def test_offline_donation_books_income_and_issues_a_receipt(db):
    admin = make_user(Role.FUND_ADMIN)
    fund = make_fund()
    donation = cash(admin, fund, 8200000 // 100)
    db.session.commit()
    assert donation.status == DonationStatus.SUCCEEDED
    assert donation.receipt_no.endswith("-000001")
    f = ledger.figures()[fund.id]
    assert (f.balance_fen, f.raised_fen, f.spent_fen) == (82000, 82000, 0)
    assert integrity.check() == []


def test_refunds_and_disputes_keep_every_fund_adding_up(db):
    admin = make_user(Role.FUND_ADMIN)
    fund = make_fund()
    d = cash(admin, fund, 10000)
    funds.refund(d, 3000, admin, source_key="refund:1")
    assert d.status == DonationStatus.PARTIALLY_REFUNDED and d.refunded_fen == 3000
    assert funds.refund(d, 3000, admin, source_key="refund:1") is False  # the same refund again
    funds.refund(d, 7000, admin, source_key="refund:2")
    assert d.status == DonationStatus.REFUNDED
    db.session.commit()
    assert ledger.figures()[fund.id].balance_fen == 0
    with pytest.raises(ValidationError):
        funds.refund(d, 1, admin, source_key="refund:3")
    db.session.rollback()

    card = funds.record_offline(admin, funds.Target(fund), 5000, donor(), "bank_transfer", "ICBC 0001")
    funds.open_dispute(card, 5000, "stripe", source_key="dispute:opened")
    assert ledger.figures()[fund.id].balance_fen == 0
    funds.close_dispute(card, True, "stripe", opened_key="dispute:opened", source_key="dispute:won")
    assert card.status == DonationStatus.SUCCEEDED
    db.session.commit()
    assert ledger.figures()[fund.id].balance_fen == 5000
    assert integrity.check() == []


def test_posting_the_same_source_twice_books_once(db):
    fund = make_fund()
    first, new = ledger.post("stripe:evt_1", fund.id, [("asset:stripe", 100), ("income:donations", -100)], "x", "test")
    again, new_again = ledger.post(
        "stripe:evt_1", fund.id, [("asset:stripe", 100), ("income:donations", -100)], "x", "test"
    )
    assert new and not new_again and again.id == first.id
    assert db.session.query(Journal).count() == 1


def test_unbalanced_or_empty_journals_are_refused(db):
    fund = make_fund()
    with pytest.raises(LedgerError):
        ledger.post("k1", fund.id, [("asset:cash", 100), ("income:donations", -99)], "x", "test")
    with pytest.raises(LedgerError):
        ledger.post("k2", fund.id, [("asset:cash", 100)], "x", "test")
    with pytest.raises(LedgerError):
        ledger.post("k3", fund.id, [("asset:cash", 1.5), ("income:donations", -1.5)], "x", "test")


def test_posted_rows_are_never_edited_or_deleted(db):
    admin = make_user(Role.FUND_ADMIN)
    cash(admin, make_fund())
    db.session.commit()
    entry = db.session.query(Entry).first()
    entry.amount_fen += 1
    with pytest.raises(LedgerImmutable):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(LedgerImmutable):
        db.session.delete(db.session.query(Journal).first())
        db.session.flush()
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text("UPDATE ledger_entries SET amount_fen = amount_fen + 1"))
        db.session.rollback()


def test_ledger_check_command(runner, db):
    admin = make_user(Role.FUND_ADMIN)
    fund = make_fund()
    cash(admin, fund)
    db.session.commit()
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 0 and "ledger ok" in result.output
    journal = db.session.query(Journal).first()
    account_id = db.session.query(Entry.account_id).first()[0]
    db.session.execute(
        insert(Entry).values(journal_id=journal.id, account_id=account_id, fund_id=fund.id, amount_fen=1)
    )
    db.session.commit()
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 1 and "BREACH" in result.output


def test_receipt_numbers_have_no_gaps_under_concurrency(app, db):
    """Receipts are taken in each donation's own transaction, by many at once."""
    admin_id = make_user(Role.FUND_ADMIN).id
    fund_id = make_fund().id
    db.session.commit()
    errors = []

    def give(n):
        with app.app_context():
            try:
                from core.models import User
                from funds.models import Fund

                admin = db.session.get(User, admin_id)
                fund = db.session.get(Fund, fund_id)
                cash(admin, fund, 100 + n)
                if n % 5 == 0:
                    db.session.rollback()  # a donation that never commits gives its number back
                else:
                    db.session.commit()
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=give, args=(n,)) for n in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    from funds.models import Donation

    numbers = sorted(int(r.split("-")[1]) for (r,) in db.session.query(Donation.receipt_no))
    assert numbers == list(range(1, 25))
    assert integrity.check() == []


def test_every_account_of_the_chart_has_a_label_a_person_reads():
    from funds import ledger

    assert set(ledger.ACCOUNT_LABELS) == set(ledger.ACCOUNTS)
