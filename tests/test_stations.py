"""A donor who claims a gift is told where to bring or post it: the station of the child's street
(or district), with its address, hours, contact, a map link and a reference for the parcel."""

import pytest
from sqlalchemy import select

from core.models import AuditLog, Role
from core.outbox import Notification
from tests.factories import PASSWORD, login, make_child, make_user, make_wish
from tests.helpers import client_for, fast_passwords  # noqa: F401 (an autouse fixture)
from wishes import places, stations

STATION = {
    "district": "崂山区",
    "street": "王哥庄街道",
    "name": "王哥庄街道未成年人保护工作站",
    "address": "港东社区服务中心一楼",
    "hours": "周一至周五 8:30–17:00",
    "contact_name": "王老师",
    "contact_phone": "0532-8780 0005",
    "postal_address": "港东路1号",
    "postcode": "266105",
}


@pytest.fixture
def supervisor(db):
    for street in ("王哥庄街道", "沙子口街道"):
        places.ensure_place("崂山区", street)
    return make_user(Role.SUPERVISOR)


def _claim_gift(client, district="崂山区", street="王哥庄街道", contact="donor@example.org"):
    wish = make_wish(child=make_child(district=district, street=street, address="港东村88号"))
    response = client.post(f"/api/v1/wishes/{wish.public_id}/claim", json={"name": "李明", "contact": contact})
    assert response.status_code == 201
    body = response.get_json()
    return body["manage_url"].split("localhost", 1)[1], body["claim"]["id"]


def test_the_manage_page_and_the_mail_say_where_to_bring_the_gift(client, db, supervisor):
    stations.create_station(supervisor, STATION)
    db.session.commit()

    path, claim_id = _claim_gift(client)
    page = client.get(path).get_data(as_text=True)

    assert "王哥庄街道未成年人保护工作站" in page and "港东社区服务中心一楼" in page and "周一至周五 8:30–17:00" in page
    assert 'href="tel:0532-87800005"' in page or 'href="tel:05328780' in page
    assert "uri.amap.com/search?keyword=" in page
    assert "港东路1号" in page and f"微心愿 {claim_id}" in page
    # The child's own address never.
    assert "港东村88号" not in page
    mail = db.session.scalar(select(Notification).where(Notification.kind == "claim.created"))
    assert "王哥庄街道未成年人保护工作站" in mail.body and f"微心愿 {claim_id}" in mail.body
    assert "港东村88号" not in mail.body


def test_a_street_without_a_station_uses_its_districts_or_promises_a_call(client, db, supervisor):
    stations.create_station(supervisor, {**STATION, "street": "", "name": "崂山区社工站"})
    db.session.commit()

    district_path, _id = _claim_gift(client, street="沙子口街道")
    elsewhere_path, _id2 = _claim_gift(client, district="梁溪区", street="江海街道", contact="13900000000")

    assert "崂山区社工站" in client.get(district_path).get_data(as_text=True)
    assert "两个工作日内" in client.get(elsewhere_path).get_data(as_text=True)


def test_a_closed_station_is_not_offered(client, db, supervisor):
    station = stations.create_station(supervisor, STATION)
    stations.update_station(supervisor, station, {**STATION, "active": False})
    db.session.commit()

    path, _id = _claim_gift(client)

    assert "王哥庄街道未成年人保护工作站" not in client.get(path).get_data(as_text=True)


def test_supervisors_keep_the_list_and_others_cannot(app, db, supervisor):
    staff = client_for(app)
    login(staff, supervisor)
    response = staff.post("/staff/stations/new", data=STATION)
    assert response.status_code == 302
    assert "王哥庄街道未成年人保护工作站" in staff.get("/staff/stations").get_data(as_text=True)
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "station.created"))

    twice = staff.post("/staff/stations/new", data={**STATION, "name": "另一个站"})
    assert twice.status_code == 422 and "已有站点" in twice.get_data(as_text=True)
    bad = staff.post("/staff/stations/new", data={**STATION, "street": "沙子口街道", "contact_phone": "call me"})
    assert bad.status_code == 422

    caseworker = client_for(app)
    login(caseworker, make_user(Role.CASEWORKER))
    assert caseworker.get("/staff/stations").status_code == 403
    assert caseworker.post("/staff/stations/new", data={**STATION, "street": "x"}).status_code == 403


def test_two_supervisors_adding_one_station_and_one_place_at_once_make_one_of_each(app, live_server, db, supervisor):
    """Real parallel requests: one is saved, the others are told it exists; never a 500."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from wishes.models import Place, Station

    db.session.commit()
    sessions = []
    for n in range(6):
        user = make_user(Role.SUPERVISOR, email=f"sv{n}@example.org")
        db.session.commit()
        http = requests.Session()
        http.post(f"{live_server.url}/login", data={"email": user.email, "password": PASSWORD}, timeout=30)
        sessions.append(http)
    start = threading.Event()

    def send(job):
        http, path, data = job
        start.wait()
        return http.post(f"{live_server.url}{path}", data=data, allow_redirects=False, timeout=60).status_code

    place = {"district": "崂山区", "street": "北宅街道", "community": "卧龙社区"}
    jobs = [(http, "/staff/places", place) for http in sessions[:3]]
    jobs += [(http, "/staff/stations/new", {**STATION, "street": "沙子口街道"}) for http in sessions[3:]]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(send, job) for job in jobs]
        start.set()
        statuses = [f.result() for f in futures]

    assert sorted(statuses[:3]) == [302, 422, 422] and sorted(statuses[3:]) == [302, 422, 422], statuses
    db.session.rollback()
    assert db.session.query(Place).filter_by(street="北宅街道").count() == 1
    assert db.session.query(Station).filter_by(street="沙子口街道").count() == 1
