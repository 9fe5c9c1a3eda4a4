"""Importing bank statements: two banks' layouts and a mapped one, GBK or UTF-8, re-import adds nothing,
a broken file writes nothing; the lines are reconciled with offline donations, payouts and disbursements."""

import io
from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core.clock import local_today
from core.errors import ValidationError
from core.extensions import db
from core.models import AuditLog, Role
from funds import donations
from reconcile import bank
from reconcile.models import BankLine, BankMatch, BankStatement, ReconcileItem, ReconcileRun
from tests.factories import login, make_fund, make_user

TODAY = local_today()
DAY = TODAY.isoformat()

ICBC_HEADER = [
    "凭证号",
    "本方账号",
    "对方账号",
    "交易时间",
    "借/贷",
    "借方发生额",
    "贷方发生额",
    "对方行号",
    "摘要",
    "用途",
    "对方单位名称",
    "余额",
]
CCB_HEADER = [
    "账号",
    "账户名称",
    "交易时间",
    "借方发生额（支取）",
    "贷方发生额（收入）",
    "余额",
    "币种",
    "对方户名",
    "对方账号",
    "摘要",
    "备注",
    "账户明细编号-交易流水号",
]


def offline(fund, amount, reference, admin=None, channel="bank_transfer"):
    admin = admin or make_user(Role.FUND_ADMIN)
    donation = donations.record_offline(
        admin,
        donations.Target(fund),
        amount,
        donations.DonorInput(name="陈女士", contact="13800002222"),
        channel,
        reference,
    )
    db.session.commit()
    return donation


def icbc_csv(lines, encoding="gbk", bom=False) -> bytes:
    rows = [["中国工商银行 对公账户明细"], ["账号", "1102020009000000001"], ICBC_HEADER]
    for n, (amount, purpose, who) in enumerate(lines, 1):
        credit, debit = (f"{amount / 100:,.2f}", "") if amount > 0 else ("", f"{-amount / 100:,.2f}")
        rows.append(
            [
                f"V{n:05d}",
                "1102020009000000001",
                "6222",
                f"{DAY} 10:{n:02d}:00",
                "贷" if amount > 0 else "借",
                debit,
                credit,
                "102",
                "汇款",
                purpose,
                who,
                "100,000.00",
            ]
        )
    rows.append(["合计", "", "", "", "", "", "", "", "", "", "", ""])
    text = "\n".join(",".join(f'"{cell}"' for cell in row) for row in rows) + "\n"
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def ccb_xlsx(lines) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["中国建设银行单位账户交易明细"])
    sheet.append(CCB_HEADER)
    for n, (amount, purpose, who) in enumerate(lines, 1):
        sheet.append(
            [
                "3205",
                "溪心护童",
                f"{DAY} 09:00:00",
                -amount / 100 if amount < 0 else None,
                amount / 100 if amount > 0 else None,
                1000.0,
                "人民币",
                who,
                "6217",
                purpose,
                "",
                f"CCB{n:08d}",
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("encoding, bom", [("gbk", False), ("utf-8", True), ("utf-8", False)])
def test_an_icbc_csv_is_read_in_any_encoding_and_matched_by_reference(db, encoding, bom):
    fund = make_fund()
    admin = make_user(Role.FUND_ADMIN)
    a = offline(fund, 50_000, "WXY-A-000123", admin)
    b = offline(fund, 30_000, "WXY-B-000456", admin)
    data = icbc_csv([(50_000, "捐款 WXY-A-000123", "王先生"), (30_000, "WXY-B-000456", "李女士")], encoding, bom)

    statement, run = bank.import_statement(admin, "icbc.csv", data)
    db.session.commit()

    assert statement.layout == "icbc" and statement.lines_new == 2
    assert run.matched == 2 and run.items == []
    keys = set(db.session.scalars(select(BankMatch.entry_key)))
    assert keys == {f"donation:{a.id}", f"donation:{b.id}"}


def test_re_importing_adds_nothing_and_an_overlapping_statement_adds_only_new_lines(db):
    fund = make_fund()
    admin = make_user(Role.FUND_ADMIN)
    offline(fund, 50_000, "WXY-A-000123", admin)
    first = icbc_csv([(50_000, "WXY-A-000123", "王先生")])
    bank.import_statement(admin, "a.csv", first)
    db.session.commit()
    statement, run = bank.import_statement(admin, "a.csv", first)
    db.session.commit()
    assert run is None and statement.lines_new == 0 and count(BankLine) == 1 and count(ReconcileRun) == 1
    grown = icbc_csv([(50_000, "WXY-A-000123", "王先生"), (7_700, "不明来款", "赵六")])
    _statement, run = bank.import_statement(admin, "b.csv", grown)
    db.session.commit()
    assert count(BankLine) == 2 and run.rows == 1
    assert [(i.kind, i.amount_fen) for i in run.items] == [("missing_here", 7_700)]


def test_a_ccb_xlsx_with_two_discrepancies_suggestions_and_a_disbursement(db):
    fund = make_fund()
    admin = make_user(Role.FUND_ADMIN)
    offline(fund, 100_000, "WXY-C-000777", admin)
    by_amount = offline(fund, 8_800, "CASH-BOX", admin, channel="cheque")
    offline(fund, 12_345, "WXY-D-000999", admin)  # never reaches the bank
    data = ccb_xlsx([(100_000, "认捐 WXY-C-000777", "张三"), (8_800, "支票", "某公司"), (-999, "手续费", "银行")])

    _statement, run = bank.import_statement(admin, "ccb.xlsx", data)
    db.session.commit()

    kinds = {(i.kind, i.amount_fen) for i in run.items}
    assert kinds == {("suggested", 8_800), ("missing_here", -999), ("missing_there", 12_345)}
    assert run.matched == 1
    suggested = next(i for i in run.items if i.kind == "suggested")
    assert suggested.donation_id == by_amount.id
    bank.accept_suggestion(suggested, admin)
    db.session.commit()
    assert f"donation:{by_amount.id}" in set(db.session.scalars(select(BankMatch.entry_key)))


def test_a_generic_layout_is_mapped_by_a_person(client, db):
    fund = make_fund()
    admin = make_user(Role.FUND_ADMIN)
    d = offline(fund, 20_000, "WXY-E-000321", admin)
    login(client, admin)
    text = f"日期,金额,对方,附言\n{DAY},200.00,王先生,WXY-E-000321\n{DAY},-15.00,银行,年费\n"
    first = client.post(
        "/staff/reconcile/bank",
        data={"statement": (io.BytesIO(text.encode("gbk")), "other.csv")},
        content_type="multipart/form-data",
    )
    assert first.status_code == 200 and 'name="token"' in first.text
    assert count(BankLine) == 0
    token = first.text.split('name="token" value="')[1].split('"')[0]
    missing = client.post("/staff/reconcile/bank/map", data={"token": token, "filename": "other.csv", "date": "0"})
    assert missing.status_code == 422 and count(BankLine) == 0
    done = client.post(
        "/staff/reconcile/bank/map",
        data={
            "token": token,
            "filename": "other.csv",
            "date": "0",
            "amount": "1",
            "counterparty": "2",
            "reference": "3",
        },
    )
    assert done.status_code == 302
    run = db.session.scalar(select(ReconcileRun))
    assert run.matched == 1 and [(i.kind, i.amount_fen) for i in run.items] == [("missing_here", -1500)]
    assert db.session.scalar(select(BankMatch.entry_key)) == f"donation:{d.id}"
    page = client.get(f"/staff/reconcile/{run.id}")
    item = run.items[0]
    client.post(f"/staff/reconcile/items/{item.id}/ignore", data={"note": "银行年费，不属于基金"})
    db.session.rollback()
    assert db.session.get(ReconcileItem, item.id).status == "ignored"
    assert page.status_code == 200
    gone = client.post("/staff/reconcile/bank/map", data={"token": "../../etc/passwd", "date": "0", "amount": "1"})
    assert gone.status_code == 302


@pytest.mark.parametrize(
    "data, message",
    [
        (icbc_csv([(50_000, "x", "y")]).replace(b"500.00", b"5OO.00"), "Row 4"),
        (icbc_csv([(50_000, "x", "y")]).replace(b'"","500.00"', b'"","-500.00"'), "Row 4"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV"),
        (b"name,email\nx,y\n", "header"),
        (b"PK\x03\x04 broken zip", "not a CSV"),
        (b"", "empty"),
    ],
)
def test_bad_files_get_a_message_and_write_nothing(client, db, data, message):
    login(client, make_user(Role.FUND_ADMIN))
    client.get("/?lang=en")
    response = client.post(
        "/staff/reconcile/bank?lang=en",
        data={"statement": (io.BytesIO(data), "s.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422, response.text[:300]
    assert message in response.text
    assert count(BankLine) == 0 and count(BankStatement) == 0 and count(ReconcileRun) == 0


def test_a_fifty_megabyte_upload_is_refused(client, db):
    login(client, make_user(Role.FUND_ADMIN))
    response = client.post(
        "/staff/reconcile/bank",
        data={"statement": (io.BytesIO(b"0" * (50 * 2**20)), "huge.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert count(BankStatement) == 0


def test_only_fund_admins_import(client, db):
    login(client, make_user(Role.SUPERVISOR))
    response = client.post(
        "/staff/reconcile/bank",
        data={"statement": (io.BytesIO(icbc_csv([(100, "x", "y")])), "s.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403 and count(BankLine) == 0


def test_a_payout_split_over_two_lines_settles_it(db):
    from funds import processor

    fund = make_fund()
    admin = make_user(Role.FUND_ADMIN)
    processor.post_payout("po_TEST12345", fund.id, 90_000, "stripe")
    db.session.commit()
    data = icbc_csv([(60_000, "STRIPE po_TEST12345", "Stripe"), (30_000, "STRIPE po_TEST12345", "Stripe")])
    _statement, run = bank.import_statement(admin, "p.csv", data)
    db.session.commit()
    assert run.matched == 2 and run.items == []
    assert "bank_statement.imported" in set(db.session.scalars(select(AuditLog.action)))
    assert TODAY - timedelta(days=1) < run.since <= TODAY


@pytest.mark.parametrize(
    "written, fen",
    [
        ("1234.5", 123_450),
        ("1,234.56", 123_456),
        ("¥ 12", 1_200),
        ("+7.05", 705),
        ("-0.01", -1),
        ("0012.30元", 1_230),
        ("1E3", 100_000),
        ("1.234", "not in yuan and fen"),
        ("12345678901.00", "too large"),
        ("1O.00", "not a number"),
    ],
)
def test_a_signed_amount_is_read_to_the_fen_as_banks_write_it(app, written, fen):
    from reconcile import bankfiles

    sheet = bankfiles.Sheet(header=["交易日期", "金额", "摘要"], rows=[[DAY, written, "x"]], first_row=2)
    with app.test_request_context("/?lang=en"):
        if isinstance(fen, int):
            [line] = bankfiles.read_lines(sheet, {"date": 0, "amount": 1, "reference": 2})
            assert line.amount_fen == fen
        else:
            with pytest.raises(ValidationError) as refused:
                bankfiles.read_lines(sheet, {"date": 0, "amount": 1, "reference": 2})
            assert fen in str(refused.value.fields["file"]) and "Row 2" in str(refused.value.fields["file"])
