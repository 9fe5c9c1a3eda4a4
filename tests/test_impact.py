"""The impact report and the service activities staff record for it: figures that add up, roles, privacy."""

import csv
import io
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.clock import clock_at, local_today
from core.models import AuditLog, Role
from funds import donations
from funds.models import Fund
from impact import report, services
from impact.models import ServiceActivity
from tests.factories import PASSWORD, login, make_child, make_fund, make_user, make_wish
from tests.helpers import client_for, snapshot
from tests.payment_helpers import pending_donation
from wishes import places
from wishes.models import WishStatus

LIANGXI = "梁溪区|江海街道|凤宾社区"
LAOSHAN = "崂山区|王哥庄街道|"


def _places():
    places.ensure_place("梁溪区", "江海街道", "凤宾社区")
    places.ensure_place("崂山区", "王哥庄街道", "")


def _activity(actor, *, kind="case_work", place=LIANGXI, children=3, people=5, on=None, note="", **extra):
    return services.record_activity(
        actor,
        services.ActivityInput(
            happened_on=on or local_today(),
            kind=kind,
            place=place,
            children=children,
            people=people,
            note=note,
            **extra,
        ),
    )


def _give(admin, fund, amount_fen, name, contact, **donor):
    return donations.record_offline(
        admin,
        donations.Target(fund),
        amount_fen,
        donations.DonorInput(name=name, contact=contact, **donor),
        "cash",
        None,
    )


@pytest.fixture
def seeded(db):
    """Two funds, three fulfilled wishes of two children, donations of every sort, activities (one voided)."""
    _places()
    xixin = make_fund()
    dianliang = make_fund("dianliang", "点亮希望专项基金")
    admin = make_user(Role.FUND_ADMIN)
    caseworker = make_user(Role.CASEWORKER)
    supervisor = make_user(Role.SUPERVISOR)
    ming = make_child(caseworker, legal_name="李小明", district="梁溪区", street="江海街道", community="凤宾社区")
    he = make_child(caseworker, legal_name="王小禾", district="崂山区", street="王哥庄街道", community="")
    make_wish(WishStatus.FULFILLED, child=ming, fund=xixin.slug, modes="money", supervisor=supervisor)
    make_wish(WishStatus.CLOSED, child=ming, title="一套绘本", supervisor=supervisor)
    make_wish(WishStatus.FULFILLED, child=he, title="一双运动鞋", supervisor=supervisor)
    make_wish(WishStatus.CLAIMED, child=he, title="一个台灯", supervisor=supervisor)
    # The claimer of every fulfilled wish (13800001111) also gives money: one donor, not two.
    _give(admin, xixin, 20_000, "周先生", "138 0000 1111")
    _give(admin, xixin, 30_000, "陈女士", "13800002222")
    _give(admin, dianliang, 30_000, "刘先生", "13800003333", partner_name="赵女士")
    refunded = _give(admin, dianliang, 10_000, "孙先生", "13800004444")
    donations.refund(refunded, 10_000, admin, source_key="test:refund")
    simulated = pending_donation(77_700, fund=xixin, name="模拟", contact="13800005555")
    simulated.simulated = True
    donations.succeed(simulated, "simulator")
    _activity(caseworker, kind="case_work", place=LIANGXI, children=3, people=5)
    _activity(caseworker, kind="school_session", place=LAOSHAN, children=40, people=80, fund_id=dianliang.id)
    mistake = _activity(caseworker, kind="group_session", place=LAOSHAN, children=50, people=100)
    services.void_activity(supervisor, mistake, "录重了")
    db.session.commit()
    return {"xixin": xixin, "dianliang": dianliang, "caseworker": caseworker, "supervisor": supervisor}


def _row(rows, key):
    return next(r for r in rows if r.key == key)


def test_the_figures_add_up_exactly_over_a_seeded_season(app, seeded):
    found = report.build(report.default_period())
    t = found.total
    assert (t.wishes_fulfilled, t.children_helped, t.donors, t.couples) == (3, 2, 3, 1)
    # 200 + 300 + 300 yuan; the refunded gift and the simulated payment do not count.
    assert t.raised_fen == 80_000
    assert (t.sessions, t.children_reached, t.activity_people) == (2, 43, 85)
    assert t.people_served == 85 + 3

    liangxi, laoshan, whole = (_row(found.by_district, k) for k in ("梁溪区", "崂山区", ""))
    assert (liangxi.wishes_fulfilled, liangxi.children_helped, liangxi.people_served) == (2, 1, 5 + 2)
    assert (laoshan.wishes_fulfilled, laoshan.children_helped, laoshan.people_served) == (1, 1, 80 + 1)
    assert (whole.raised_fen, whole.wishes_fulfilled, whole.people_served) == (80_000, 0, 0)
    for name in ("wishes_fulfilled", "raised_fen", "sessions", "activity_people", "people_served", "couples"):
        for rows in (found.by_district, found.by_fund, found.by_month):
            assert sum(getattr(r, name) for r in rows) == getattr(t, name), (name, rows)

    xixin, dianliang, none = (_row(found.by_fund, k) for k in ("xixin-hutong", "dianliang", ""))
    assert (xixin.raised_fen, xixin.wishes_fulfilled) == (50_000, 1)
    assert (dianliang.raised_fen, dianliang.couples, dianliang.sessions, dianliang.activity_people) == (
        30_000,
        1,
        1,
        80,
    )
    assert (none.wishes_fulfilled, none.sessions) == (2, 1)
    assert [k.kind for k in found.by_kind] == ["case_work", "school_session"]
    assert len(found.by_month) == 12 and found.by_month[-1].people_served == t.people_served


def test_simulated_payments_count_only_on_a_demo_site(app, seeded, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_SITE", True)
    t = report.build(report.default_period()).total
    assert t.raised_fen == 80_000 + 77_700 and t.donors == 4


def test_period_boundaries_are_local_days(app, db):
    """23:30 in Shanghai on 31 March is 15:30 UTC: March in the report, whatever UTC says."""
    _places()
    fund = make_fund()
    admin = make_user(Role.FUND_ADMIN)
    caseworker = make_user(Role.CASEWORKER)
    with clock_at(datetime(2026, 3, 31, 15, 30, tzinfo=UTC)):
        _give(admin, fund, 12_300, "周先生", "13800001111")
    with clock_at(datetime(2026, 3, 31, 16, 30, tzinfo=UTC)):  # 00:30 on 1 April in Shanghai
        _give(admin, fund, 45_600, "陈女士", "13800002222")
        _activity(caseworker, on=date(2026, 4, 1), people=7, children=2)
    db.session.commit()

    march = report.build(report.parse_period("2026-03-01", "2026-03-31")).total
    april = report.build(report.parse_period("2026-04-01", "2026-04-30")).total
    assert (march.raised_fen, march.donors, march.people_served) == (12_300, 1, 0)
    assert (april.raised_fen, april.donors, april.people_served) == (45_600, 1, 7)
    both = report.build(report.parse_period("2026-03-01", "2026-04-30"))
    assert [(m.key, m.raised_fen) for m in both.by_month] == [("2026-03", 12_300), ("2026-04", 45_600)]


def test_a_period_must_be_dates_in_order_and_not_too_long():
    with pytest.raises(report.BadPeriod) as bad:
        report.parse_period("2026-02-30", None)
    assert "since" in bad.value.fields
    with pytest.raises(report.BadPeriod) as backwards:
        report.parse_period("2026-05-02", "2026-05-01")
    assert "until" in backwards.value.fields
    with pytest.raises(report.BadPeriod):
        report.parse_period("2001-01-01", "2026-01-01")
    assert report.parse_period(None, "2026-06-15") == report.Period(date(2025, 7, 1), date(2026, 6, 15))


# --- recording activities ---------------------------------------------------------------------


def test_an_activity_refuses_a_place_off_the_list_a_future_day_and_more_children_than_people(db):
    _places()
    caseworker = make_user(Role.CASEWORKER)
    with pytest.raises(services.ValidationError) as bad:
        _activity(caseworker, place="别处区|某街道|", on=local_today() + timedelta(days=1), children=9, people=4)
    assert set(bad.value.fields) == {"place", "happened_on", "children"}
    assert db.session.scalar(select(func.count()).select_from(ServiceActivity)) == 0


def test_a_note_naming_a_child_of_the_district_or_a_phone_is_refused(db):
    _places()
    caseworker = make_user(Role.CASEWORKER)
    make_child(caseworker, legal_name="王秘密", district="梁溪区", street="江海街道", community="凤宾社区")
    for note in ("今天走访了王秘密家", "监护人电话 139 1234 5678", "孩子在梁溪区实验小学读书"):
        with pytest.raises(services.ValidationError) as refused:
            _activity(caseworker, note=note)
        assert "note" in refused.value.fields, note
    # A child of another district is not in this check, and a plain note passes.
    assert _activity(caseworker, note="入户探访，了解孩子学习和生活情况").note


def test_only_the_recorder_or_a_supervisor_changes_an_activity_and_every_change_is_audited(db):
    _places()
    caseworker, other = make_user(Role.CASEWORKER), make_user(Role.CASEWORKER)
    supervisor = make_user(Role.SUPERVISOR)
    activity = _activity(caseworker, people=5)
    edit = services.ActivityInput(local_today(), "home_visit", LAOSHAN, 1, 2)
    with pytest.raises(services.Forbidden):
        services.update_activity(other, activity, edit)
    services.update_activity(caseworker, activity, edit)
    assert (activity.kind, activity.district, activity.people) == ("home_visit", "崂山区", 2)
    services.void_activity(supervisor, activity, "同一次走访录了两遍")
    with pytest.raises(services.InvalidTransition):
        services.void_activity(supervisor, activity, "again")
    with pytest.raises(services.InvalidTransition):
        services.update_activity(caseworker, activity, edit)
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.object_type == "service_activities").order_by(AuditLog.id)
    ).all()
    assert actions == ["activity.recorded", "activity.updated", "activity.voided"]
    with pytest.raises(services.Forbidden):
        services.record_activity(make_user(Role.FUND_ADMIN), edit)


# --- pages ------------------------------------------------------------------------------------


def _form(**overrides):
    data = {
        "happened_on": local_today().isoformat(),
        "kind": "school_session",
        "place": LAOSHAN,
        "children": "35",
        "people": "70",
        "fund": "",
        "project": "",
        "note": "校园成长课堂：防欺凌",
    }
    data.update(overrides)
    return data


def test_staff_pages_refuse_anonymous_donors_and_fund_admins_may_only_read(app, db):
    _places()
    client = client_for(app)
    assert client.get("/staff/activities").status_code == 302
    assert client.post("/staff/activities/new", data=_form()).status_code in (302, 400)
    donor = make_user(Role.DONOR)
    login(client, donor)
    assert client.get("/staff/activities").status_code == 403
    assert client.post("/staff/activities/new", data=_form()).status_code == 403
    fund_admin = make_user(Role.FUND_ADMIN)
    reader = client_for(app)
    login(reader, fund_admin)
    assert reader.get("/staff/activities").status_code == 200
    assert reader.get("/staff/activities/new").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ServiceActivity)) == 0


def test_a_caseworker_records_an_activity_and_bad_input_writes_nothing(app, db):
    _places()
    caseworker = make_user(Role.CASEWORKER)
    make_child(caseworker, legal_name="王秘密", district="崂山区", street="王哥庄街道", community="")
    client = client_for(app)
    login(client, caseworker)
    before = snapshot()
    for bad, field in (
        ({"people": "0"}, "people"),
        ({"children": "abc"}, "children"),
        ({"place": "别处区|某街道|"}, "place"),
        ({"note": "家长电话13912345678，下次再约"}, "note"),
        ({"note": "王秘密参加了活动"}, "note"),
    ):
        response = client.post("/staff/activities/new?lang=en", data=_form(**bad))
        assert response.status_code == 422, bad
        flagged = re.findall(r'<div class="field has-error">(.*?)</div>', response.text, re.DOTALL)
        assert any(f'name="{field}"' in block for block in flagged), bad
        assert snapshot() == before, bad
    phone = client.post("/staff/activities/new?lang=en", data=_form(note="家长电话13912345678"))
    assert "Phone number" in phone.text

    response = client.post("/staff/activities/new", data=_form())
    assert response.status_code == 302
    listing = client.get("/staff/activities?lang=en&kind=school_session&district=崂山区").text
    assert "崂山区 · 王哥庄街道" in listing and ">70<" in listing
    assert "崂山区" not in client.get("/staff/activities?lang=en&kind=home_visit").text.split("<tbody>")[1]


def test_an_activity_is_edited_and_voided_from_its_page(app, db):
    _places()
    caseworker = make_user(Role.CASEWORKER)
    activity = _activity(caseworker)
    db.session.commit()
    client = client_for(app)
    login(client, caseworker)
    page = client.get(f"/staff/activities/{activity.id}/edit")
    assert page.status_code == 200 and "凤宾社区" in page.text
    assert client.post(f"/staff/activities/{activity.id}/edit", data=_form(people="9", children="2")).status_code == 302
    empty = client.post(f"/staff/activities/{activity.id}/void", data={"reason": " "})
    assert empty.status_code == 422
    assert client.post(f"/staff/activities/{activity.id}/void", data={"reason": "重复录入"}).status_code == 302
    db.session.expire_all()
    found = db.session.get(ServiceActivity, activity.id)
    assert (found.people, found.void_reason) == (9, "重复录入")
    # A voided record is read, never changed.
    assert client.post(f"/staff/activities/{activity.id}/edit", data=_form(people="50")).status_code == 409
    db.session.expire_all()
    assert db.session.get(ServiceActivity, activity.id).people == 9
    other = make_user(Role.CASEWORKER)
    stranger = client_for(app)
    login(stranger, other)
    assert stranger.get(f"/staff/activities/{activity.id}/edit").status_code == 403


def test_two_supervisors_voiding_one_record_at_the_same_moment_void_it_once(live_server, db):
    _places()
    activity = _activity(make_user(Role.CASEWORKER))
    supervisors = [make_user(Role.SUPERVISOR) for _ in range(2)]
    db.session.commit()
    activity_id = activity.id
    url = f"{live_server.url}/staff/activities/{activity_id}/void"
    sessions = []
    for user in supervisors:
        session = requests.Session()
        answer = session.post(
            f"{live_server.url}/login", data={"email": user.email, "password": PASSWORD}, allow_redirects=False
        )
        assert answer.status_code == 302
        sessions.append(session)
    start = threading.Event()

    def void(session, reason):
        start.wait()
        return session.post(url, data={"reason": reason}, allow_redirects=False)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(void, s, r) for s, r in zip(sessions, ("重复录入", "日期填错"), strict=True)]
        start.set()
        answers = [f.result() for f in futures]

    assert sorted(a.status_code for a in answers) == [302, 409]
    loser = next(a for a in answers if a.status_code == 409)
    assert "这条活动记录已经作废" in loser.text
    db.session.rollback()
    found = db.session.get(ServiceActivity, activity_id)
    assert found.void_reason in ("重复录入", "日期填错")
    voided = select(func.count()).select_from(AuditLog).where(AuditLog.action == "activity.voided")
    assert db.session.scalar(voided) == 1


# --- the public report and the API ---------------------------------------------------------------


def test_the_public_page_shows_the_figures_charts_and_a_table(app, seeded):
    client = client_for(app)
    page = client.get("/impact?lang=en")
    assert page.status_code == 200
    assert '<strong class="people-served">88</strong>' in page.text
    assert '<strong class="couples">1</strong>' in page.text
    assert "School session" in page.text and "崂山区" in page.text
    for name in report.CHARTS:
        chart = client.get(f"/impact/charts/{name}.svg")
        assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
        assert b"<svg" in chart.data and b"<script" not in chart.data and b"<image" not in chart.data
    bad = client.get("/impact?since=yesterday&lang=en")
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    assert client.get("/impact/charts/nothing.svg").status_code == 404
    assert 'href="/impact"' in client.get("/?lang=en").text


def test_the_table_exports_as_csv_and_xlsx_with_formula_cells_written_as_text(app, seeded, db):
    fund = db.session.get(Fund, seeded["dianliang"].id)
    fund.name = '=HYPERLINK("http://x")'
    db.session.commit()
    client = client_for(app)
    rows = list(csv.reader(io.StringIO(client.get("/impact.csv?lang=en").get_data().decode("utf-8-sig"))))
    assert rows[1][:3] == ["Grouped by", "Group", "Wishes fulfilled"]
    assert rows[2][0] == "Whole period" and rows[2][2] == "3" and rows[2][6] == "800.00" and rows[2][-1] == "88"
    assert ["Fund", '\'=HYPERLINK("http://x")'] in [r[:2] for r in rows]
    response = client.get("/impact.xlsx?lang=en")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="impact-')
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet.freeze_panes == "A3"
    assert sheet["C3"].value == 3 and sheet["G3"].value == 800 and sheet["G3"].number_format == "#,##0.00"
    assert client.get("/impact.csv?until=2026-13-01").status_code == 422


def test_the_api_gives_the_same_figures_and_refuses_bad_dates(app, seeded):
    client = client_for(app)
    body = client.get("/api/v1/impact").get_json()
    assert body["totals"] == {
        "wishes_fulfilled": 3,
        "children_helped": 2,
        "donors": 3,
        "couples": 1,
        "raised_fen": 80_000,
        "sessions": 2,
        "children_reached": 43,
        "activity_people": 85,
        "people_served": 88,
    }
    assert body["until"] == local_today().isoformat() and body["currency"] == "CNY"
    assert {d["district"] for d in body["by_district"]} == {"梁溪区", "崂山区", None}
    assert {f["fund"] for f in body["by_fund"]} == {"xixin-hutong", "dianliang", None}
    assert len(body["by_month"]) == 12 and body["by_kind"][0]["kind"] == "case_work"
    for query in ("since=2026-02-30", "until=tomorrow", "since=2026-05-02&until=2026-05-01", "since=1999-01-01"):
        response = client.get(f"/api/v1/impact?{query}")
        assert response.status_code == 422, query
        assert response.get_json()["error"]["code"] == "invalid_period"
    old = client.get("/api/v1/impact?since=2020-01-01&until=2020-12-31").get_json()
    assert old["totals"]["people_served"] == 0 and len(old["by_month"]) == 12


def test_no_child_private_field_reaches_the_report(app, db):
    _places()
    caseworker = make_user(Role.CASEWORKER)
    child = make_child(
        caseworker, legal_name="CANARYNAME", district="梁溪区", street="江海街道", community="CANARYCOMM社区"
    )
    places.ensure_place("梁溪区", "江海街道", "CANARYCOMM社区")
    make_wish(WishStatus.FULFILLED, child=child)
    _activity(caseworker, place="梁溪区|江海街道|CANARYCOMM社区", note="小组活动：情绪管理")
    db.session.commit()
    client = client_for(app)
    for url in ("/impact", "/api/v1/impact", "/impact.csv", "/impact/charts/people-by-district.svg"):
        response = client.get(url)
        assert response.status_code == 200 and "梁溪区" in response.get_data(as_text=True), url
        assert b"CANARY" not in response.data and "13912345678" not in response.get_data(as_text=True), url
