"""A child's private file never reaches a donor: every URL crawled, every header, e-mail and log line checked.

DESIGN.md §3: only the alias, the age in whole years and the district down to street
level may reach a public page, the public API, a QR poster or anything sent to donors.
"""

import html
import logging
import re
from collections import deque
from datetime import date
from urllib.parse import urljoin, urlsplit

import pytest

from core import qr
from core.clock import local_today
from core.models import Role
from core.outbox import Notification
from core.urls import public_url
from impact import services as impact_services
from tests.factories import child_form, claim, login, make_child, make_user, make_wish
from tests.helpers import client_for, fast_passwords, snapshot  # noqa: F401 (an autouse fixture)
from wishes import services
from wishes.models import PUBLIC_WISH_STATUSES, Child, WishStatus

BIRTH = date(local_today().year - 10, 11, 23)

PRIVATE = {
    "case_no": "CANARYCASE6R",
    "legal_name": "CANARYNAME7Q",
    "birth_date": BIRTH,
    "guardian_name": "CANARYGUARD3K",
    "guardian_phone": "13599990001",
    "address": "CANARYADDR5M路9号",
    "school": "CANARYSCHOOL2P小学",
    "community": "CANARYCOMM8W社区",
    "notes": "CANARYNOTES4Z 父亲在外务工",
    "district": "梁溪区",
    "street": "江海街道",
    "alias": "小星星",
}

#: Everything that would show that a private field escaped, in any spelling we render.
CANARIES = [
    "CANARY",
    "13599990001",
    "135 9999 0001",
    "135-9999-0001",
    BIRTH.isoformat(),
    BIRTH.strftime("%Y/%m/%d"),
    BIRTH.strftime("%Y%m%d"),
    f"{BIRTH.year}年11月23日",
    f"Nov 23, {BIRTH.year}",
    f"23 Nov {BIRTH.year}",
]

STAFF_PREFIXES = ("/staff", "/admin")

LINK = re.compile(r"""(?:href|src|action)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def leaks(blob: bytes) -> list[str]:
    lowered = blob.lower()
    return [c for c in CANARIES if c.encode().lower() in lowered]


def assert_clean(where: str, response) -> None:
    found = leaks(response.get_data() + str(response.headers).encode())
    assert not found, f"{where} ({response.status_code}) shows private data: {found}"


@pytest.fixture
def client(app):
    return client_for(app)


@pytest.fixture
def world(db):
    """A child with canary strings in every private field, wishes in every status, and claims."""
    caseworker = make_user(Role.CASEWORKER)
    supervisor = make_user(Role.SUPERVISOR)
    child = make_child(caseworker, **PRIVATE)
    wishes = {status: make_wish(status, child=child, supervisor=supervisor) for status in WishStatus}
    guest_wish = make_wish(WishStatus.PUBLISHED, child=child, supervisor=supervisor, title="一双运动鞋")
    guest_claim, token = claim(guest_wish, name="钱女士", contact="qian@example.org", display_name="钱女士")
    services.report_delivery(guest_claim, f"donor:{guest_claim.public_id}", "已送到未保站")
    donor = make_user(Role.DONOR, email="donor-crawl@example.org")
    donor_wish = make_wish(WishStatus.PUBLISHED, child=child, supervisor=supervisor, title="一套绘本")
    donor_claim, donor_token = services.claim_wish(
        donor_wish, services.ClaimInput(name="孙先生", contact=donor.email, display_name="孙先生"), donor=donor
    )
    # A session at the child's own community, whose name is private.
    impact_services.record_activity(
        caseworker,
        impact_services.ActivityInput(
            local_today(), "home_visit", f"梁溪区|江海街道|{PRIVATE['community']}", 1, 2, "入户走访"
        ),
    )
    db.session.commit()
    return {
        "caseworker": caseworker,
        "supervisor": supervisor,
        "child": child,
        "wishes": [*wishes.values(), guest_wish, donor_wish],
        "tokens": [token, donor_token],
        "donor": donor,
        "donor_claim": donor_claim,
        "claims": [guest_claim, donor_claim],
    }


def _param_values(name: str, world) -> list:
    wishes = world["wishes"]
    values = {
        "public_id": [w.public_id for w in wishes] + [str(w.id) for w in wishes],
        "fmt": ["svg", "png"],
        "token": world["tokens"],
        "claim_id": [world["donor_claim"].public_id] + [c.id for c in world["claims"]],
        "child_id": [world["child"].id],
        "wish_id": [w.id for w in wishes],
        "filename": ["css/site.css"],
    }
    return values.get(name, ["x", "1"])


def _urls_from_map(app, world, method: str) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if method not in rule.methods:
            continue
        combos = [{}]
        for arg in sorted(rule.arguments):
            combos = [{**c, arg: v} for c in combos for v in _param_values(arg, world)]
        for values in combos:
            try:
                built = rule.build(values, append_unknown=False)
            except Exception:
                continue
            if built:
                urls.append(built[1])
    return sorted(set(urls))


def _links(base: str, response) -> list[str]:
    found = []
    if response.mimetype == "text/html":
        found = [html.unescape(m) for m in LINK.findall(response.get_data(as_text=True))]
    elif response.is_json:

        def walk(node):
            if isinstance(node, dict):
                for value in node.values():
                    yield from walk(value)
            elif isinstance(node, list):
                for value in node:
                    yield from walk(value)
            elif isinstance(node, str) and (node.startswith("/") or node.startswith("http")):
                yield node

        found = list(walk(response.get_json()))
    same_site = []
    for link in found:
        absolute = urlsplit(urljoin(f"http://localhost{base}", link))
        if absolute.scheme in ("http", "https") and absolute.netloc == "localhost":
            same_site.append(absolute.path + (f"?{absolute.query}" if absolute.query else ""))
    return same_site


def crawl(client, start: list[str], limit: int = 1000) -> dict[str, int]:
    """Fetch every start URL and every same-site link found on the way; asserts each response is clean."""
    seen: dict[str, int] = {}
    queue = deque(start)
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        seen[url] = response.status_code
        assert response.status_code < 500, (url, response.status_code)
        assert_clean(f"GET {url}", response)
        if urlsplit(url).path.startswith(STAFF_PREFIXES):
            continue
        queue.extend(link for link in _links(url, response) if link not in seen)
        if response.status_code in (301, 302, 303) and response.location:
            queue.append(response.location)
    return seen


def _check_staff_refusal(url: str, response, signed_in: bool) -> None:
    if signed_in:
        assert response.status_code == 403, (url, response.status_code)
    else:
        assert response.status_code == 302, (url, response.status_code)
        assert urlsplit(response.location).path == "/login", (url, response.location)


def _crawl_as(app, world, client, signed_in: bool) -> dict[str, int]:
    seen = crawl(client, _urls_from_map(app, world, "GET"))
    staff = [url for url in seen if urlsplit(url).path.startswith(STAFF_PREFIXES)]
    assert staff
    for url in staff:
        _check_staff_refusal(url, client.get(url), signed_in)
    return seen


def test_anonymous_crawl_of_every_url_shows_no_private_field(app, world, monkeypatch):
    targets = []
    real_render = qr.render
    monkeypatch.setattr(qr, "render", lambda target, fmt: targets.append(target) or real_render(target, fmt))
    client = client_for(app)
    seen = _crawl_as(app, world, client, signed_in=False)

    public = [w for w in world["wishes"] if w.status in PUBLIC_WISH_STATUSES]
    hidden = [w for w in world["wishes"] if w.status not in PUBLIC_WISH_STATUSES]
    for wish in public:
        assert seen[f"/wishes/{wish.public_id}"] == 200
        assert seen[f"/api/v1/wishes/{wish.public_id}"] == 200
    for wish in hidden:
        assert seen[f"/wishes/{wish.public_id}"] == 404
        assert seen[f"/api/v1/wishes/{wish.public_id}"] == 404
    for token in world["tokens"]:
        assert seen[f"/claims/manage/{token}"] == 200
    assert seen["/api/v1/openapi.json"] == 200
    # The impact report counts the child's fulfilled wishes, by district only.
    assert seen["/impact"] == seen["/api/v1/impact"] == seen["/impact.csv"] == 200
    assert seen[f"/me/claims/{world['donor_claim'].public_id}"] == 404

    # The alias, the age and the district/street are what a donor sees instead.
    page = client.get(f"/wishes/{public[0].public_id}").get_data(as_text=True)
    assert "小星星" in page and "梁溪区江海街道" in page
    age = world["child"].age
    body = client.get(f"/api/v1/wishes/{public[0].public_id}").get_json()
    assert body["child"] == {"alias": "小星星", "age": age, "district": "梁溪区江海街道"}

    # Every QR code encodes the wish's public page and nothing else.
    expected = {public_url("wishes.detail", public_id=w.public_id, src="qr") for w in public}
    assert set(targets) == expected
    for target in targets:
        assert not leaks(target.encode())


def test_signed_in_donor_crawl_shows_no_private_field(app, world):
    client = client_for(app)
    login(client, world["donor"])
    seen = _crawl_as(app, world, client, signed_in=True)
    assert seen["/me/claims"] == 200
    assert seen[f"/me/claims/{world['donor_claim'].public_id}"] == 200
    assert "一套绘本" in client.get("/me/claims").get_data(as_text=True)


def test_the_crawl_would_notice_a_leak(app, world):
    """The same check on the caseworker's private page finds every field: the canaries are real."""
    client = client_for(app)
    login(client, world["caseworker"])
    response = client.get(f"/staff/children/{world['child'].id}")
    assert response.status_code == 200
    found = set(leaks(response.get_data()))
    assert {"CANARY", "13599990001"} <= found
    assert found & set(CANARIES[4:]), "the birth date as the staff page shows it is among the canaries"


def test_error_pages_show_no_private_field(app, world, client, monkeypatch):
    wish = next(w for w in world["wishes"] if w.status == WishStatus.PUBLISHED)
    for response, status in [
        (client.get("/no/such/page"), 404),
        (client.get("/api/v1/no/such"), 404),
        (client.post("/wishes"), 405),
        (client.delete(f"/api/v1/wishes/{wish.public_id}"), 405),
        (client.get("/logout"), 405),
        (client.get(f"/wishes/{wish.id}"), 404),
        (client.get(f"/wishes/{world['wishes'][0].public_id}/qr.gif"), 404),
    ]:
        assert response.status_code == status
        assert_clean(response.request.path, response)

    child = world["child"]

    def broken(public_id):
        raise RuntimeError(f"cannot load {child.legal_name} {child.guardian_phone} {child.address}")

    monkeypatch.setattr(services, "get_public_wish", broken)
    page = client.get(f"/wishes/{wish.public_id}")
    api = client.get(f"/api/v1/wishes/{wish.public_id}")
    assert page.status_code == 500 and api.status_code == 500
    assert api.get_json()["error"]["code"] == "internal_error"
    for response in (page, api):
        assert_clean("a 500 page", response)
        assert b"Traceback" not in response.get_data() and b"RuntimeError" not in response.get_data()


def test_manage_page_and_donor_emails_show_no_private_field(app, world, client):
    for token in world["tokens"]:
        response = client.get(f"/claims/manage/{token}?new=1")
        assert response.status_code == 200
        assert "小星星" in response.get_data(as_text=True)
        assert_clean("the manage page", response)
    notes = Notification.query.all()
    assert {n.recipient for n in notes} == {"qian@example.org", "donor-crawl@example.org"}
    for note in notes:
        assert not leaks(f"{note.recipient}\n{note.subject}\n{note.body}".encode()), note.body
        assert "小星星" in note.body


def test_public_ids_are_random_not_sequential(app, world, client):
    child, supervisor = world["child"], world["supervisor"]
    created = [make_wish(WishStatus.PUBLISHED, child=child, supervisor=supervisor) for _ in range(12)]
    ids = [w.public_id for w in created]
    internal = [w.id for w in created]
    assert internal == sorted(internal)
    assert len(set(ids)) == len(ids)
    assert all(len(i) >= 10 and not i.isdigit() for i in ids)
    assert ids != sorted(ids) and ids != sorted(ids, reverse=True)
    for a, b in zip(ids, ids[1:], strict=False):
        assert sum(x != y for x, y in zip(a, b, strict=True)) > 2, (a, b)
    for wish in created[:3]:
        assert client.get(f"/wishes/{wish.id}").status_code == 404
        assert client.get(f"/api/v1/wishes/{wish.id}").status_code == 404
        assert client.get(f"/wishes/{wish.id}/qr.png").status_code == 404
    claim_ids = [c.public_id for c in world["claims"]]
    assert all(not i.isdigit() and len(i) >= 10 for i in claim_ids)
    assert all(len(t) >= 30 for t in world["tokens"])


def _log_text(records) -> str:
    formatter = logging.Formatter()
    lines = []
    for record in records:
        lines.append(formatter.format(record))
        lines.append(repr({k: v for k, v in vars(record).items() if k not in ("exc_info", "exc_text")}))
    return "\n".join(lines)


def test_logs_of_a_claim_and_a_registration_hold_no_private_field(app, world, client, caplog):
    caplog.set_level(logging.DEBUG)
    wish = next(w for w in world["wishes"] if w.status == WishStatus.PUBLISHED)
    other = make_wish(WishStatus.PUBLISHED, child=world["child"], supervisor=world["supervisor"])
    caplog.clear()

    response = client.post(
        f"/wishes/{wish.public_id}/claim", data={"name": "周先生", "contact": "zhou@example.org", "mode": "gift"}
    )
    assert response.status_code == 302
    response = client.post(f"/api/v1/wishes/{other.public_id}/claim", json={"name": "吴女士", "contact": "13700002222"})
    assert response.status_code == 201

    staff = client_for(app)
    login(staff, world["caseworker"])
    form = child_form(**{**PRIVATE, "case_no": "CANARYCASE6S", "birth_date": BIRTH.isoformat()})
    response = staff.post("/staff/children/new", data=form)
    assert response.status_code == 302
    assert staff.get(response.location).status_code == 200
    assert Child.query.filter_by(case_no="CANARYCASE6S").count() == 1
    # A form refused for one field must not log the others either.
    response = staff.post("/staff/children/new", data={**form, "case_no": "CANARYCASE6T", "guardian_phone": "abc"})
    assert response.status_code == 422

    assert caplog.records, "the requests were not logged at all"
    text = _log_text(caplog.records)
    assert not leaks(text.encode()), [line for line in text.splitlines() if leaks(line.encode())][:3]


def test_case_number_taken_meanwhile_is_a_form_error_not_a_logged_500(app, world, caplog, monkeypatch):
    """Another caseworker files the same case number between the check and the insert."""
    from core.extensions import db

    caplog.set_level(logging.DEBUG)
    staff = client_for(app)
    login(staff, world["caseworker"])
    real_scalar = db.session.scalar

    def scalar_missing_the_duplicate(statement, *args, **kwargs):
        if "children.case_no =" in str(statement) and "children.id !=" not in str(statement):
            return None
        return real_scalar(statement, *args, **kwargs)

    monkeypatch.setattr(db.session, "scalar", scalar_missing_the_duplicate)
    form = child_form(**{**PRIVATE, "birth_date": BIRTH.isoformat()})
    caplog.clear()
    response = staff.post("/staff/children/new?lang=en", data=form)
    monkeypatch.undo()
    assert response.status_code == 422
    assert "already on file" in response.get_data(as_text=True)
    assert Child.query.count() == 1
    text = _log_text(caplog.records)
    assert not leaks(text.encode()), text[:2000]


def test_staff_routes_refuse_anonymous_and_donors(app, world):
    anonymous = client_for(app)
    donor = client_for(app)
    login(donor, world["donor"])
    staff_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith(STAFF_PREFIXES)]
    assert len(staff_rules) >= 15
    before = snapshot()
    for method in ("GET", "POST"):
        for url in _urls_from_map(app, world, method):
            if not url.startswith(STAFF_PREFIXES):
                continue
            for client, signed_in in ((anonymous, False), (donor, True)):
                response = client.open(url, method=method, data={"reason": "x"})
                _check_staff_refusal(url, response, signed_in)
                assert_clean(f"{method} {url}", response)
    assert snapshot() == before


def test_a_database_error_is_logged_without_the_values_it_quotes(app, db, caplog, monkeypatch):
    """PostgreSQL quotes the refused row in its message; the log keeps only the kind of error."""
    from sqlalchemy.exc import IntegrityError

    from wishes import services as wish_services

    class DriverError(Exception):
        sqlstate = "23505"

    refused = IntegrityError("INSERT INTO children …", {}, DriverError("Key (case_no)=(CANARYDBERR1) already exists."))

    def refuse(*_args, **_kwargs):
        raise refused

    monkeypatch.setattr(wish_services, "claim_wish", refuse)
    wish = make_wish()
    with caplog.at_level("INFO"):
        response = app.test_client().post(
            f"/api/v1/wishes/{wish.public_id}/claim", json={"name": "甲", "contact": "13800001234"}
        )
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "database error" in logged and "23505" in logged
    assert "CANARYDBERR1" not in logged


def test_event_board_api_stream_room_and_qr_show_no_private_field(app, world, monkeypatch):
    """A live event featuring the canary child's wishes: the projected board and everything public about it stay clean."""
    from datetime import timedelta

    from core.clock import utcnow
    from core.extensions import db
    from events import services as events

    monkeypatch.setitem(app.config, "EVENT_STREAM_SECONDS", 0)
    host = make_user(Role.HOST)
    event = events.create_event(
        host,
        events.EventInput(slug="liuyi-open", title="六一活动", starts_at=utcnow() + timedelta(hours=1), venue="街道"),
    )
    open_wishes = [services.get_public_wish(w.public_id) for w in world["wishes"] if w.status == WishStatus.PUBLISHED]
    extra = make_wish(WishStatus.PUBLISHED, child=world["child"], supervisor=world["supervisor"], title="一个篮球")
    events.feature_wishes(host, event, [w.public_id for w in open_wishes] + [extra.public_id])
    events.add_attendee(host, event, events.AttendeeInput(paddle=5, name="ATTENDEENAME9", phone="13688887777"))
    events.open_event(host, event)
    events.claim_for_paddle(host, event, extra.public_id, ["5"])
    events.record_pledge(host, event, 10000, "5")
    db.session.commit()

    targets = []
    real_render = qr.render
    monkeypatch.setattr(qr, "render", lambda target, fmt: targets.append(target) or real_render(target, fmt))
    client = client_for(app)
    pages = [
        "/api/v1/events",
        "/api/v1/events/liuyi-open/board",
        "/events/liuyi-open/board",
        "/events/liuyi-open/stream",
        "/events/liuyi-open/room",
        "/events/liuyi-open/qr.svg",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_clean(f"GET {url}", response)
        body = response.get_data()
        # The attendee's phone stays on the host's own pages and export; the board shows the public name.
        assert b"13688887777" not in body
    stream = client.get("/events/liuyi-open/stream").get_data(as_text=True)
    assert "event: claim" in stream and extra.public_id in stream and "event: donation" in stream
    assert targets == [public_url("events.room", slug="liuyi-open")]
