"""The fund administrator's desk: funds, projects, campaigns, offline donations, refunds, statements."""

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.clock import local_today
from core.errors import ValidationError
from core.models import AuditLog, Role
from funds import donations, integrity, ledger, services
from funds.models import Campaign, Donation, DonationStatus, Fund, Project
from tests.factories import login, make_fund, make_user
from tests.helpers import client_for, fast_passwords, snapshot  # noqa: F401 (an autouse fixture)

ADMIN_URLS = [
    "/staff/funds",
    "/staff/funds/new",
    "/staff/projects",
    "/staff/projects/new",
    "/staff/projects/import",
    "/staff/projects/import/template.csv",
    "/staff/campaigns",
    "/staff/campaigns/new",
    "/staff/donations/offline",
]


@pytest.fixture
def staff(app, db):
    admin = make_user(Role.FUND_ADMIN)
    client = client_for(app)
    login(client, admin)
    return client, admin


def _offline(client, fund_slug="xixin-hutong", **overrides):
    data = {
        "target": f"fund:{fund_slug}",
        "amount": "500",
        "channel": "bank_transfer",
        "reference": "BANK-20261122-001",
        "name": "无锡某某公司",
        "contact": "13800002222",
        "display_name": "",
    }
    data.update(overrides)
    return client.post("/staff/donations/offline?lang=en", data=data)


def test_only_fund_admins_and_admins_reach_the_desk(app, db):
    for role in (Role.DONOR, Role.CASEWORKER, Role.SUPERVISOR, Role.HOST):
        client = client_for(app)
        login(client, make_user(role))
        for url in ADMIN_URLS:
            assert client.get(url).status_code == 403, (role, url)
    anonymous = client_for(app)
    assert anonymous.get("/staff/funds").status_code == 302
    for role in (Role.FUND_ADMIN, Role.ADMIN):
        client = client_for(app)
        login(client, make_user(role))
        for url in ADMIN_URLS:
            assert client.get(url).status_code == 200, (role, url)


def test_staff_home_shows_the_funds_card_to_a_fund_admin(staff):
    client, _admin = staff
    assert "/staff/funds" in client.get("/staff/").get_data(as_text=True)


def test_create_and_edit_a_fund(staff, db):
    client, admin = staff
    response = client.post(
        "/staff/funds/new", data={"slug": "xixin-hutong", "name": "溪心护童专项基金", "description": "护童"}
    )
    assert response.status_code == 302
    fund = db.session.scalar(select(Fund).where(Fund.slug == "xixin-hutong"))
    assert fund.name == "溪心护童专项基金" and fund.active
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "fund.created")).actor_id == admin.id
    assert "溪心护童专项基金" in client.get("/staff/funds").get_data(as_text=True)

    response = client.post(
        "/staff/funds/xixin-hutong/edit", data={"name": "溪心护童基金", "description": "新", "active": ""}
    )
    assert response.status_code == 302
    db.session.refresh(fund)
    assert fund.name == "溪心护童基金" and not fund.active


@pytest.mark.parametrize(
    "data, field",
    [
        ({"slug": "Bad Slug", "name": "某基金"}, "lowercase"),
        ({"slug": "-x", "name": "某基金"}, "lowercase"),
        ({"slug": "taken", "name": "某基金"}, "already taken"),
        ({"slug": "ok-slug", "name": "x"}, "between 2 and 100"),
    ],
)
def test_bad_fund_input_is_refused_and_nothing_is_written(staff, data, field):
    client, _admin = staff
    make_fund(slug="taken", name="已有基金")
    before = snapshot()
    response = client.post("/staff/funds/new?lang=en", data=data)
    assert response.status_code == 422
    assert field in response.get_data(as_text=True)
    assert snapshot() == before


def test_create_project_and_close_it(staff, db):
    client, _admin = staff
    fund = make_fund()
    data = {
        "slug": "reading-corner",
        "title": "阅读角",
        "fund": fund.slug,
        "goal": "20000",
        "beneficiaries": "300",
        "district": "梁溪区",
    }
    assert client.post("/staff/projects/new", data=data).status_code == 302
    project = db.session.scalar(select(Project).where(Project.slug == "reading-corner"))
    assert project.goal_fen == 2_000_000 and project.beneficiaries == 300 and project.status == "open"

    assert client.post(f"/staff/projects/{project.id}/close").status_code == 302
    db.session.refresh(project)
    assert project.status == "closed"
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "project.closed")) == 1
    # A closed project takes no more money.
    with pytest.raises(ValidationError) as refused:
        donations.resolve_target(project="reading-corner")
    assert "project" in refused.value.fields


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"goal": "0"}, "more than 0"),
        ({"goal": "-5"}, "Give an amount in yuan"),
        ({"goal": "1.234"}, "Give an amount in yuan"),
        ({"fund": "nope"}, "Not a valid choice"),
        ({"slug": "UPPER"}, "lowercase"),
        ({"beneficiaries": "many"}, "whole number"),
    ],
)
def test_bad_project_input_is_refused(staff, overrides, message):
    client, _admin = staff
    fund = make_fund()
    data = {"slug": "reading-corner", "title": "阅读角", "fund": fund.slug, "goal": "200", **overrides}
    before = snapshot()
    response = client.post("/staff/projects/new?lang=en", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert snapshot() == before


def test_create_a_couple_campaign_with_presets(staff, db):
    client, _admin = staff
    fund = make_fund()
    data = {
        "slug": "registry-liangxi",
        "title": "梁溪婚姻登记处",
        "kind": "couple",
        "fund": fund.slug,
        "project": "",
        "presets": "52 99，520",
        "minimum": "5.20",
        "maximum": "5200",
    }
    assert client.post("/staff/campaigns/new", data=data).status_code == 302
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "registry-liangxi"))
    assert campaign.kind == "couple"
    assert campaign.presets == [5200, 9900, 52000]
    assert (campaign.min_fen, campaign.max_fen) == (520, 520000)
    page = client.get("/staff/campaigns").get_data(as_text=True)
    assert "梁溪婚姻登记处" in page and "/posters/campaign/registry-liangxi" in page


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"presets": "1 99999"}, "between the smallest and the largest"),
        ({"minimum": "100", "maximum": "10"}, "at least the smallest"),
        ({"minimum": "0"}, "more than 0"),
        ({"presets": "abc"}, "separated by spaces"),
        ({"slug": "has space"}, "lowercase"),
    ],
)
def test_bad_campaign_input_is_refused(staff, overrides, message):
    client, _admin = staff
    fund = make_fund()
    data = {"slug": "registry", "title": "登记处", "kind": "general", "fund": fund.slug, "project": "", **overrides}
    before = snapshot()
    response = client.post("/staff/campaigns/new?lang=en", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert snapshot() == before


def test_offline_donation_gets_a_receipt_and_shows_in_the_figures(staff, db):
    client, admin = staff
    fund = make_fund()
    response = _offline(client)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    donation = db.session.scalar(select(Donation))
    assert donation.status == DonationStatus.SUCCEEDED and donation.receipt_no
    assert donation.channel == "bank_transfer" and donation.reference == "BANK-20261122-001"
    assert donation.recorded_by_id == admin.id
    assert ledger.figures()[fund.id] == ledger.FundFigures(50000, 50000, 0)
    assert integrity.check() == []

    dashboard = client.get("/staff/funds").get_data(as_text=True)
    assert "¥500" in dashboard
    listing = client.get(f"/staff/funds/{fund.slug}/donations?lang=en").get_data(as_text=True)
    assert donation.receipt_no in listing and "Bank transfer" in listing and "无锡某某公司" in listing


def test_offline_donation_with_evidence_photo(staff, db):
    from PIL import Image

    client, _admin = staff
    make_fund()
    image = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(image, format="PNG")
    image.seek(0)
    response = _offline(client, channel="cash", reference="", evidence=(image, "receipt.png"))
    assert response.status_code == 302
    donation = db.session.scalar(select(Donation))
    assert donation.evidence and donation.channel == "cash"
    photo = client.get(f"/staff/donations/{donation.id}/evidence-photo")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"amount": "0"}, "between"),
        ({"amount": "0.001"}, "Give an amount in yuan"),
        ({"amount": "-1"}, "Give an amount in yuan"),
        ({"amount": "99999999"}, "between"),
        ({"reference": ""}, "bank reference"),
        ({"channel": "card"}, "Not a valid choice"),
        ({"target": "fund:closed"}, "Not a valid choice"),
        ({"contact": "x"}, "mobile"),
    ],
)
def test_bad_offline_donation_writes_nothing(staff, overrides, message):
    client, _admin = staff
    make_fund()
    make_fund(slug="closed", name="停用基金").active = False
    before = snapshot()
    response = _offline(client, **overrides)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert snapshot() == before


def test_refund_part_then_the_rest(staff, db):
    client, _admin = staff
    fund = make_fund()
    _offline(client)
    donation = db.session.scalar(select(Donation))
    page = client.get(f"/staff/donations/{donation.id}/refund")
    assert page.status_code == 200 and donation.receipt_no in page.get_data(as_text=True)

    assert (
        client.post(f"/staff/donations/{donation.id}/refund", data={"amount": "200", "reason": "捐错了"}).status_code
        == 302
    )
    db.session.refresh(donation)
    assert donation.status == DonationStatus.PARTIALLY_REFUNDED and donation.refunded_fen == 20000
    assert ledger.figures()[fund.id] == ledger.FundFigures(30000, 30000, 0)

    before = snapshot()
    too_much = client.post(f"/staff/donations/{donation.id}/refund?lang=en", data={"amount": "301", "reason": "x"})
    assert too_much.status_code == 422 and "At most 300" in too_much.get_data(as_text=True)
    assert snapshot() == before

    assert (
        client.post(f"/staff/donations/{donation.id}/refund", data={"amount": "300", "reason": "全额"}).status_code
        == 302
    )
    db.session.refresh(donation)
    assert donation.status == DonationStatus.REFUNDED
    assert ledger.figures()[fund.id] == ledger.FundFigures(0, 0, 0)
    assert integrity.check() == []

    again = client.post(f"/staff/donations/{donation.id}/refund?lang=en", data={"amount": "1", "reason": "x"})
    assert again.status_code == 422


def _statement_rows_csv(client, slug):
    response = client.get(f"/staff/funds/{slug}/statement.csv?lang=en")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_statement_csv_and_xlsx_follow_the_ledger(staff, db):
    client, _admin = staff
    fund = make_fund()
    make_fund(slug="other", name="另一个基金")
    _offline(client, amount="500")
    _offline(client, amount="120.50", channel="cash", reference='=HYPERLINK("x")', name="=cmd")
    _offline(client, fund_slug="other", amount="999")
    donation = db.session.scalar(select(Donation).where(Donation.amount_fen == 50000))
    client.post(f"/staff/donations/{donation.id}/refund", data={"amount": "100", "reason": "退"})

    rows = _statement_rows_csv(client, fund.slug)
    assert rows[0][0].startswith(fund.name)
    assert rows[1][0] == "Opening balance" and rows[1][7] == "0.00"
    assert rows[2] == [
        "Date",
        "Receipt number",
        "Donor or payee",
        "Movement",
        "Money in (yuan)",
        "Money out (yuan)",
        "Fee (yuan)",
        "Balance (yuan)",
    ]
    body = rows[3:-2]
    assert len(body) == 3  # two donations and a refund; the other fund's money is not here
    assert [r[3] for r in body] == ["Donation (Bank transfer)", "Donation (Cash)", "Refund (Bank transfer)"]
    assert body[0][1] == donation.receipt_no and body[0][4] == "500.00"
    assert body[1][2] == "'=***"  # a formula typed as a name is text (and, shown publicly, masked)
    assert body[2][5] == "100.00" and body[2][7] == "520.50"
    assert rows[-2][0] == "Totals" and rows[-2][4:7] == ["620.50", "100.00", "0.00"]
    assert rows[-1][0] == "Closing balance" and rows[-1][7] == "520.50"
    assert ledger.figures()[fund.id].balance_fen == 52050
    flat = " ".join(" ".join(r) for r in rows)
    assert "asset:" not in flat and "income:" not in flat and "donation:" not in flat

    response = client.get(f"/staff/funds/{fund.slug}/statement.xlsx?lang=en")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.get_data()))
    sheet = book.worksheets[0]
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[2][0] == "Date" and len(cells) == 8
    assert cells[-1][7] == pytest.approx(520.5)
    assert cells[3][4] == pytest.approx(500)
    assert sheet.freeze_panes == "A4" and sheet["E4"].number_format == "#,##0.00"
    assert sheet.column_dimensions["C"].width >= 20


def test_a_statement_for_a_period_starts_from_the_balance_before_it(staff, db):
    client, _admin = staff
    fund = make_fund()
    _offline(client, amount="500")
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(f"/staff/funds/{fund.slug}/statement.csv?lang=en&since={tomorrow}")
                .get_data()
                .decode("utf-8-sig")
            )
        )
    )
    assert rows[1][7] == "500.00" and rows[-1][7] == "500.00" and len(rows) == 5
    bad = client.get(f"/staff/funds/{fund.slug}/statement.csv?since=yesterday")
    assert bad.status_code == 422
    backwards = client.get(f"/staff/funds/{fund.slug}/statement.csv?since=2026-05-02&until=2026-05-01")
    assert backwards.status_code == 422


def test_offline_donation_to_a_project_counts_towards_its_goal(staff, db):
    client, admin = staff
    fund = make_fund()
    services.create_project(admin, services.ProjectInput("reading-corner", "阅读角", fund.slug, 100_000))
    db.session.commit()
    assert _offline(client, target="project:reading-corner", amount="250").status_code == 302
    donation = db.session.scalar(select(Donation))
    assert donation.project.slug == "reading-corner" and donation.fund_id == fund.id
    listing = client.get("/staff/projects?lang=en").get_data(as_text=True)
    assert "¥250" in listing and "¥1,000" in listing
    assert 'value="25"' in client.get("/projects/reading-corner").get_data(as_text=True)


def test_the_pdf_statement_is_signed_off_by_the_administrator(staff, db):
    client, admin = staff
    fund = make_fund()
    _offline(client, amount="500")
    response = client.get(f"/staff/funds/{fund.slug}/statement.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF") and len(response.data) > 1000
    assert "attachment" in response.headers["Content-Disposition"]


def test_offline_money_is_booked_on_the_day_it_was_received(staff, db):
    from core.clock import as_utc, zone
    from funds.models import Journal

    client, _admin = staff
    fund = make_fund()
    earlier = local_today() - timedelta(days=3)
    assert _offline(client, amount="80", received_on=earlier.isoformat()).status_code == 302
    donation = db.session.scalar(select(Donation))
    journal = db.session.scalar(select(Journal).where(Journal.donation_id == donation.id))
    assert journal.posted_on == earlier
    assert as_utc(donation.succeeded_at).astimezone(zone()).date() == earlier
    future = _offline(client, amount="80", received_on=(local_today() + timedelta(days=1)).isoformat())
    assert future.status_code == 422 and "future" in future.text
    assert db.session.scalar(select(func.count()).select_from(Donation)) == 1
    assert integrity.check() == []
    rows = _statement_rows_csv(client, fund.slug)
    assert rows[3][0] == earlier.isoformat()
