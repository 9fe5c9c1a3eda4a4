"""1+1 pairings: the volunteer's private link, monthly reminders across month and year ends, compliance, export."""

import io
import re
from datetime import date, datetime, time, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core.clock import clock_at, zone
from core.errors import Forbidden, NotFound, ValidationError
from core.extensions import db as _db
from core.models import Role
from core.outbox import Notification
from reminders import pairings
from reminders.models import PairingContact
from tests.factories import login, make_child, make_user


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone())


def run(runner, name, moment: datetime):
    _db.session.commit()
    result = runner.invoke(args=["jobs", "run", name, "--now", moment.isoformat()])
    _db.session.commit()
    assert result.exit_code == 0, result.output
    return result


def make_pairing(child=None, contact="vol@example.org", start=date(2026, 1, 5), **overrides):
    child = child or make_child()
    caseworker = _db.session.get(type(child.caseworker), child.caseworker_id)
    data = pairings.PairingInput(
        volunteer_name=overrides.get("name", "王志愿者"),
        volunteer_contact=contact,
        volunteer_locale=overrides.get("locale", "zh_CN"),
        start_date=start,
    )
    with clock_at(at(start)):
        pairing = pairings.create_pairing(caseworker, child, data)
    _db.session.commit()
    return pairing


def reminder_keys() -> list[str]:
    return sorted(_db.session.scalars(select(Notification.dedupe_key).where(Notification.kind == "pairing.reminder")))


def test_a_caseworker_records_a_pairing_only_for_their_own_child(db):
    child = make_child()
    stranger = make_user(Role.CASEWORKER)
    with pytest.raises(Forbidden):
        pairings.create_pairing(
            stranger, child, pairings.PairingInput("王", "vol@example.org", "zh_CN", date(2026, 1, 5))
        )
    with pytest.raises(ValidationError) as refused:
        pairings.create_pairing(child.caseworker, child, pairings.PairingInput("", "not a contact", "zh_CN", None))
    assert set(refused.value.fields) == {"volunteer_name", "volunteer_contact", "start_date"}


def test_volunteers_without_a_contact_are_reminded_once_a_month_across_the_year_end(runner, db):
    quiet = make_pairing(contact="quiet@example.org")
    busy = make_pairing(contact="busy@example.org")
    texted = make_pairing(contact="13700001234")
    # Before the set day (20th by default): nobody is reminded yet.
    run(runner, "pairing-reminders", at(date(2026, 11, 19)))
    assert reminder_keys() == []
    with clock_at(at(date(2026, 11, 3))):
        pairings.log_contact(busy, "volunteer", "call", date(2026, 11, 3), "电话问候")
    db.session.commit()
    for day in (20, 21, 30):
        run(runner, "pairing-reminders", at(date(2026, 11, day)))
    assert reminder_keys() == [f"pairing:{quiet.id}:reminder:2026-11", f"pairing:{texted.id}:reminder:2026-11"]
    # A new month: last month's contact does not count.
    run(runner, "pairing-reminders", at(date(2026, 12, 20)))
    run(runner, "pairing-reminders", at(date(2027, 1, 20)))
    keys = reminder_keys()
    assert f"pairing:{busy.id}:reminder:2026-12" in keys
    assert f"pairing:{quiet.id}:reminder:2027-01" in keys and len(keys) == 8
    sms = db.session.scalar(select(Notification).where(Notification.recipient == "13700001234").limit(1))
    assert sms.channel == "sms"
    mail = db.session.scalar(select(Notification).where(Notification.recipient == "quiet@example.org").limit(1))
    assert "http://localhost/volunteer/" in mail.body and quiet.child.alias in mail.body
    assert "李小明" not in mail.body and mail.unsubscribe_url


def test_the_scheduler_down_on_the_set_day_reminds_on_the_next_run(runner, db):
    pairing = make_pairing()
    run(runner, "pairing-reminders", at(date(2026, 2, 27)))
    assert reminder_keys() == [f"pairing:{pairing.id}:reminder:2026-02"]


def test_a_supervisor_sets_the_reminder_day(client, runner, db):
    pairing = make_pairing()
    caseworker = pairing.child.caseworker
    login(client, make_user(Role.SUPERVISOR))
    assert client.post("/staff/reminders", data={"pairing-day": "40"}).status_code == 422
    assert client.post("/staff/reminders", data={"pairing-day": "5"}).status_code == 302
    run(runner, "pairing-reminders", at(date(2026, 3, 5)))
    assert reminder_keys() == [f"pairing:{pairing.id}:reminder:2026-03"]
    other = client.__class__(client.application, client.response_wrapper, use_cookies=True)
    login(other, caseworker)
    assert other.post("/staff/reminders", data={"pairing-day": "9"}).status_code == 403


def test_the_volunteer_logs_a_contact_from_the_private_link(client, db):
    pairing = make_pairing(start=date.today() - timedelta(days=40))
    link = pairings.volunteer_link(pairing)
    path = link.replace("http://localhost", "")
    page = client.get(path)
    assert page.status_code == 200 and pairing.child.alias in page.get_data(as_text=True)
    assert "no-store" in page.headers["Cache-Control"]
    assert "李小明" not in page.get_data(as_text=True)
    today = date.today().isoformat()
    logged = client.post(path, data={"kind": "visit", "happened_on": today, "note": "上门看望"})
    assert logged.status_code == 302
    contact = db.session.scalar(select(PairingContact))
    assert contact.kind == "visit" and contact.logged_by == "volunteer"
    future = (date.today() + timedelta(days=2)).isoformat()
    assert client.post(path, data={"kind": "call", "happened_on": future}).status_code == 422
    assert client.post(path, data={"kind": "dance", "happened_on": today}).status_code == 422
    assert client.get(path[:-4] + "abcd").status_code == 404
    # A renewed link ends the old one.
    pairings.renew_link(pairing.child.caseworker, pairing)
    db.session.commit()
    assert client.get(path).status_code == 404


def test_compliance_table_says_who_is_behind_and_by_how_long(client, db):
    child = make_child()
    caseworker = child.caseworker
    in_touch = make_pairing(child=child, name="甲", start=date(2026, 1, 5))
    one_month = make_pairing(child=child, name="乙", start=date(2026, 1, 5))
    never = make_pairing(child=child, name="丙", start=date(2026, 9, 10))
    with clock_at(at(date(2026, 11, 25))):
        pairings.log_contact(in_touch, "volunteer", "call", date(2026, 11, 2), None)
        pairings.log_contact(in_touch, caseworker, "activity", date(2026, 6, 1), "端午活动")
        pairings.log_contact(one_month, "volunteer", "visit", date(2026, 10, 30), None)
        db.session.commit()
        rows = {r.pairing.volunteer_name: r for r in pairings.compliance(caseworker, date(2026, 11, 1))}
    assert rows["甲"].months_behind == 0 and rows["甲"].activities_this_year == 1
    assert rows["乙"].months_behind == 1 and rows["乙"].last_contact == date(2026, 10, 30)
    assert rows["丙"].months_behind == 3 and rows["丙"].last_contact is None
    assert never.id
    login(client, caseworker)
    page = client.get("/staff/pairings?month=2026-11").get_data(as_text=True)
    assert re.search(f'data-pairing="{never.id}" data-behind="3"', page)
    export = client.get("/staff/pairings/export.xlsx?month=2026-11")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.data))
    cells = [c for sheet in book for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "甲" in cells and child.alias in cells and "端午活动" in cells
    assert not any(isinstance(c, str) and ("李小明" in c or "幸福路" in c) for c in cells)
    other = make_user(Role.CASEWORKER)
    client2 = client.__class__(client.application, client.response_wrapper, use_cookies=True)
    login(client2, other)
    assert "甲" not in client2.get("/staff/pairings?month=2026-11").get_data(as_text=True)
    assert client2.get(f"/staff/pairings/{in_touch.id}").status_code == 403


def test_staff_record_a_pairing_through_the_form(client, db):
    child = make_child()
    login(client, child.caseworker)
    assert client.get(f"/staff/pairings/new?child={child.id}").status_code == 200
    response = client.post(
        "/staff/pairings/new",
        data={
            "child": child.id,
            "volunteer_name": "李党员",
            "volunteer_contact": "li@example.org",
            "volunteer_locale": "en",
            "start_date": date.today().isoformat(),
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "http://localhost/volunteer/" in page
    ended = client.post(response.headers["Location"] + "/end")
    assert ended.status_code == 302
    with pytest.raises(NotFound):
        pairings.pairing_from_link(re.search(r"/volunteer/([^\"]+)", page).group(1))
