"""A fund administrator imports a bank statement with two discrepancies, resolves them, closes the run and
downloads the XLSX statement; a second administrator approves the disbursement the first requested."""

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select

from core.clock import local_today
from core.models import Role
from funds import donations
from funds.models import Disbursement, DisbursementStatus
from reconcile.models import ReconcileRun
from tests.browser.helpers import reading
from tests.factories import PASSWORD, make_fund, make_user

pytestmark = pytest.mark.browser


def sign_in(page, user) -> None:
    page.goto("/login")
    form = page.locator("form[action='/login']")
    form.locator("input[name=email]").fill(user.email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/staff/")


def test_a_bank_statement_is_reconciled_closed_and_the_statement_downloaded(new_context, db, tmp_path):
    fund = make_fund()
    first = make_user(Role.FUND_ADMIN, email="fund.one@example.org", name="钱会计")
    second = make_user(Role.FUND_ADMIN, email="fund.two@example.org", name="孙出纳")
    for amount, reference in ((300_000, "WXY-BR-000111"), (50_000, "WXY-BR-000222")):
        donations.record_offline(
            first,
            donations.Target(fund),
            amount,
            donations.DonorInput(name="周先生", contact="13800004444"),
            "bank_transfer",
            reference,
        )
    db.session.commit()
    with reading(db):
        slug = fund.slug
    day = local_today().isoformat()
    statement = tmp_path / "工行明细.csv"
    statement.write_bytes(
        (f"日期,金额,对方户名,附言\n{day},3000.00,周先生,WXY-BR-000111 认捐\n{day},66.00,不认识的人,转账\n").encode(
            "gbk"
        )
    )

    page = new_context().new_page()
    sign_in(page, first)
    page.goto("/staff/funds")
    page.locator("a[href='/staff/reconcile']").click()
    page.locator("a[href='/staff/reconcile/bank']").click()
    page.locator("input[name=statement]").set_input_files(str(statement))
    page.locator("main form button.primary").click()
    # An unknown layout: the administrator says which column is which.
    page.wait_for_url("**/staff/reconcile/bank")
    page.select_option("#map-date", "0")
    page.select_option("#map-amount", "1")
    page.select_option("#map-counterparty", "2")
    page.select_option("#map-reference", "3")
    page.locator("form.mapping button[type=submit]").click()
    page.wait_for_url("**/staff/reconcile/*")
    items = page.locator("tr[data-item]")
    expect(items).to_have_count(2)
    expect(page.locator("tr[data-kind=missing_here]")).to_have_count(1)
    expect(page.locator("tr[data-kind=missing_there]")).to_have_count(1)
    expect(page.locator("dd.matched")).to_have_text("1")

    for kind, note in (("missing_here", "退回汇款人，非捐赠"), ("missing_there", "银行次日到账，下期核对")):
        row = page.locator(f"tr[data-kind={kind}][data-status=open]")
        row.locator("input[name=note]").first.fill(note)
        row.locator("form[action$='/resolve'] button").click()
        expect(page.locator(f"tr[data-kind={kind}][data-status=resolved]")).to_have_count(1)
    page.locator("form[action$='/close'] button").click()
    expect(page.locator("dd.run-status[data-status=closed]")).to_have_count(1)
    with reading(db) as session:
        run = session.scalar(select(ReconcileRun))
        assert run.status == "closed" and run.closed_by_id is not None

    page.goto(f"/staff/funds/{slug}/donations")
    with page.expect_download() as download:
        page.locator("form.statement-period button.primary").click()
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert rows[0][0].startswith("溪心护童专项基金")
    assert rows[-1][0] == "期末余额" and rows[-1][7] == pytest.approx(3500)

    # The first administrator asks for more than one person may pay alone.
    page.goto("/staff/disbursements/new")
    page.select_option("select[name=fund]", slug)
    page.select_option("select[name=kind]", "supplier")
    page.fill("input[name=amount]", "2500")
    page.fill("input[name=payee]", "文具批发部")
    page.fill("textarea[name=purpose]", "新学期书包 25 个")
    page.locator("main form button.primary").click()
    page.wait_for_url("**/staff/disbursements")
    expect(page.locator("section.disbursement-request")).to_have_count(0)
    expect(page.locator("tr[data-status=requested]")).to_have_count(1)

    other = new_context().new_page()
    sign_in(other, second)
    other.goto("/staff/disbursements")
    request = other.locator("section.disbursement-request")
    expect(request).to_have_count(1)
    expect(request).to_contain_text("文具批发部")
    request.locator("form[action$='/approve'] button").click()
    expect(other.locator("tr[data-status=paid]")).to_have_count(1)
    with reading(db) as session:
        paid = session.scalar(select(Disbursement))
        assert paid.status == DisbursementStatus.PAID
        assert paid.requested_by_id != paid.decided_by_id
