"""A fund's public transparency page: money by month with a chart, fees, what was bought, the last reconciliation."""

from datetime import UTC, datetime

from core.models import Role
from funds import disbursements, donations
from funds.models import Project
from reconcile.models import ReconcileRun
from tests.factories import make_fund, make_user
from tests.payment_helpers import pending_donation


def test_the_page_shows_money_by_month_fees_and_what_was_bought_but_no_payee(client, db):
    fund = make_fund()
    admin = make_user(Role.FUND_ADMIN)
    donations.record_offline(
        admin, donations.Target(fund), 500_000, donations.DonorInput(name="陈女士", contact="13800002222"), "cash", None
    )
    project = Project(slug="reading", title="乡村阅读角", fund_id=fund.id, goal_fen=900_000)
    db.session.add(project)
    db.session.flush()
    disbursements.request(
        admin,
        fund,
        disbursements.DisbursementInput("grant", 120_000, "张小花的老师", "给张小花买书", project_id=project.id),
    )
    simulated = pending_donation(77_700, fund=fund)
    simulated.simulated = True
    donations.succeed(simulated, "simulator")
    db.session.add(
        ReconcileRun(source="stripe", actor_label="x", status="closed", closed_at=datetime(2026, 3, 9, 4, tzinfo=UTC))
    )
    db.session.commit()

    page = client.get(f"/funds/{fund.slug}/transparency?lang=en")

    assert page.status_code == 200
    text = page.text
    assert "乡村阅读角" in text and "Grant to a project" in text
    # What staff typed about the payee or purpose never reaches the public.
    assert "张小花" not in text
    # The month's row: 5,000 in, 1,200 out; the simulated 777 is not counted.
    assert "<td>¥5,000</td><td>¥1,200</td><td>¥0</td>" in text and "777" not in text
    assert "9 Mar 2026" in text
    chart = client.get(f"/funds/{fund.slug}/transparency/chart.svg")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert b"<svg" in chart.data and b"<script" not in chart.data
    assert client.get(f"/funds/{fund.slug}").text.count(f"/funds/{fund.slug}/transparency") == 1


def test_a_closed_fund_has_no_public_transparency_page(client, db):
    fund = make_fund()
    fund.active = False
    db.session.commit()
    assert client.get(f"/funds/{fund.slug}/transparency").status_code == 404
    assert client.get(f"/funds/{fund.slug}/transparency/chart.svg").status_code == 404


def test_wishes_the_fund_fulfilled_are_shown_by_alias_only(client, db):
    from tests.factories import make_child, make_wish
    from wishes.models import WishStatus

    fund = make_fund()
    child = make_child(legal_name="王秘密", alias="小禾")
    make_wish(WishStatus.FULFILLED, child=child, fund=fund.slug, modes="money", title="一套绘本")
    text = client.get(f"/funds/{fund.slug}/transparency").text
    assert "一套绘本" in text and "小禾" in text and "王秘密" not in text


def _gift_photo():
    import io

    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(data, "JPEG")
    data.seek(0)
    return data


def test_what_the_money_bought_shows_a_gifts_photo_only_where_the_caseworker_chose_public(app, db):
    from tests.factories import claim, login, make_child, make_wish
    from tests.helpers import client_for

    fund = make_fund()
    caseworker = make_user(Role.CASEWORKER)
    staff = client_for(app)
    login(staff, caseworker)
    wishes = {}
    for title, public in (("一个篮球", True), ("一盏台灯", False)):
        wish = make_wish(child=make_child(caseworker, legal_name="王秘密"), fund=fund.slug, title=title)
        the_claim, _token = claim(wish)
        form = {"note": "谢谢您！", "photo": (_gift_photo(), "gift.jpg"), "photo_ok": "1"}
        if public:
            form["photo_public"] = "1"
        staff.post(f"/staff/claims/{the_claim.id}/confirm", data=form, content_type="multipart/form-data")
        wishes[title] = wish

    visitor = client_for(app)
    page = visitor.get(f"/funds/{fund.slug}/transparency").get_data(as_text=True)
    shown, kept = (f"/wishes/{wishes[t].public_id}/thanks-photo" for t in ("一个篮球", "一盏台灯"))
    assert shown in page and kept not in page and "王秘密" not in page
    photo = visitor.get(shown)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    # The photo meant for the donor alone is not served in public, however its address is guessed.
    assert visitor.get(kept).status_code == 404


def test_projects_the_fund_paid_for_are_shown_with_their_progress(client, db):
    fund = make_fund()
    admin = make_user(Role.FUND_ADMIN)
    reading = Project(slug="reading", title="乡村阅读角", fund_id=fund.id, goal_fen=400_000, district="崂山区")
    idle = Project(slug="idle", title="还没有善款的项目", fund_id=fund.id, goal_fen=100_000)
    db.session.add_all([reading, idle])
    db.session.flush()
    donations.record_offline(
        admin,
        donations.Target(fund, project=reading),
        100_000,
        donations.DonorInput(name="陈女士", contact="13800002222"),
        "cash",
        None,
    )
    disbursements.request(
        admin, fund, disbursements.DisbursementInput("grant", 50_000, "阅读角", "买书", project_id=reading.id)
    )
    db.session.commit()

    text = client.get(f"/funds/{fund.slug}/transparency?lang=en").get_data(as_text=True)
    section = text.split("Projects funded")[1]
    assert "乡村阅读角" in section and "还没有善款的项目" not in section
    assert 'value="25"' in section and "¥1,000 raised of ¥4,000 (25%)" in section and "granted ¥500" in section
