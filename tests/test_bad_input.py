"""Every form and API field is checked: bad input gets a 4xx with the reason, and writes nothing.

DESIGN.md §5: API errors are {"error": {"code", "message", "fields"}} with the right status,
never a 500 for bad input.
"""

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from core.clock import local_today
from core.extensions import limiter
from core.models import Role
from tests.conftest import make_app
from tests.factories import child_form, login, make_child, make_fund, make_user, make_wish, wish_data
from tests.helpers import client_for, fast_passwords, snapshot  # noqa: F401 (an autouse fixture)
from wishes.models import WishStatus

YESTERDAY = local_today() - timedelta(days=1)


@pytest.fixture
def client(app):
    return client_for(app)


@pytest.fixture
def wish(db):
    return make_wish(WishStatus.PUBLISHED, modes="gift")


def assert_api_error(response, status: int, fields=()) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.is_json, response.mimetype
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    assert all(isinstance(v, str) and v for v in error["fields"].values()), error["fields"]
    for name in fields:
        assert name in error["fields"], (name, error["fields"])
    return error


def field_errors(page: str) -> dict[str, str]:
    """The form fields shown with an error, and the message shown under each."""
    shown = {}
    for block in re.findall(r'<div class="field has-error">(.*?)</div>', page, re.DOTALL):
        name = re.search(r'name="([^"]+)"', block)
        message = re.search(r'<p class="error"[^>]*>\s*([^<]+?)\s*</p>', block)
        if name and message:
            shown[name.group(1)] = message.group(1)
    return shown


def assert_form_refused(response, *fields: str) -> str:
    page = response.get_data(as_text=True)
    assert response.status_code == 422, (response.status_code, page[:300])
    assert response.mimetype == "text/html"
    shown = field_errors(page)
    for name in fields:
        assert name in shown, (name, shown, re.findall(r'<p class="error"[^>]*>[^<]*</p>', page))
    return page


# --- the claim API --------------------------------------------------------------------------

GOOD_CLAIM = {"name": "周先生", "contact": "13800001111"}

CLAIM_API_CASES = [
    ("not json", {"data": '{"name": "周先生", "contact": "13800001111"}', "content_type": "text/plain"}, 415, ()),
    ("a form post", {"data": GOOD_CLAIM}, 415, ()),
    ("no body", {"content_type": "application/json"}, 400, ()),
    ("broken json", {"data": '{"name": ', "content_type": "application/json"}, 400, ()),
    ("a list", {"json": [GOOD_CLAIM]}, 422, ()),
    ("a string", {"json": "周先生"}, 422, ()),
    ("null", {"data": "null", "content_type": "application/json"}, 422, ()),
    ("no name", {"json": {"contact": "13800001111"}}, 422, ("name",)),
    ("no contact", {"json": {"name": "周先生"}}, 422, ("contact",)),
    ("empty name", {"json": {**GOOD_CLAIM, "name": ""}}, 422, ("name",)),
    ("blank name", {"json": {**GOOD_CLAIM, "name": "   "}}, 422, ("name",)),
    ("name too long", {"json": {**GOOD_CLAIM, "name": "周" * 61}}, 422, ("name",)),
    ("name a number", {"json": {**GOOD_CLAIM, "name": 42}}, 422, ("name",)),
    ("empty contact", {"json": {**GOOD_CLAIM, "contact": ""}}, 422, ("contact",)),
    ("contact neither phone nor mail", {"json": {**GOOD_CLAIM, "contact": "call me maybe"}}, 422, ("contact",)),
    ("broken e-mail", {"json": {**GOOD_CLAIM, "contact": "zhou@@example"}}, 422, ("contact",)),
    ("contact too long", {"json": {**GOOD_CLAIM, "contact": "a" * 250 + "@example.org"}}, 422, ("contact",)),
    ("public name too long", {"json": {**GOOD_CLAIM, "display_name": "名" * 31}}, 422, ("display_name",)),
    ("unknown mode", {"json": {**GOOD_CLAIM, "mode": "either"}}, 422, ("mode",)),
    ("mode the wish does not take", {"json": {**GOOD_CLAIM, "mode": "money"}}, 422, ("mode",)),
    ("extra field", {"json": {**GOOD_CLAIM, "status": "fulfilled"}}, 422, ("status",)),
    ("anonymous as text", {"json": {**GOOD_CLAIM, "anonymous": "yes"}}, 422, ("anonymous",)),
    ("anonymous as a number", {"json": {**GOOD_CLAIM, "anonymous": 1}}, 422, ("anonymous",)),
    ("anonymous null", {"json": {**GOOD_CLAIM, "anonymous": None}}, 422, ("anonymous",)),
    ("NUL in the name", {"json": {**GOOD_CLAIM, "name": "周\u0000先生"}}, 422, ("name",)),
]


@pytest.mark.parametrize("case, request_kwargs, status, fields", CLAIM_API_CASES, ids=[c[0] for c in CLAIM_API_CASES])
def test_claim_api_refuses_bad_input_and_writes_nothing(client, wish, case, request_kwargs, status, fields):
    before = snapshot()
    response = client.post(f"/api/v1/wishes/{wish.public_id}/claim", **request_kwargs)
    error = assert_api_error(response, status, fields)
    if status == 415:
        assert error["code"] == "unsupported_media_type"
    elif status == 400:
        assert error["code"] == "invalid_json"
    else:
        assert error["code"] == "validation_error"
    assert snapshot() == before


def test_good_claim_is_taken_after_the_refusals(client, wish):
    """The refusals above are about the input, not the wish: the same wish takes a good claim."""
    response = client.post(f"/api/v1/wishes/{wish.public_id}/claim", json={**GOOD_CLAIM, "anonymous": True})
    assert response.status_code == 201
    assert response.get_json()["claim"]["public_name"]


# --- the claim form -----------------------------------------------------------------------------

CLAIM_FORM_CASES = [
    ("no name", {"name": ""}, ("name",)),
    ("name too long", {"name": "周" * 61}, ("name",)),
    ("no contact", {"contact": ""}, ("contact",)),
    ("bad contact", {"contact": "call me"}, ("contact",)),
    ("public name too long", {"display_name": "名" * 31}, ("display_name",)),
    ("unknown mode", {"mode": "barter"}, ()),
]


@pytest.mark.parametrize("case, change, fields", CLAIM_FORM_CASES, ids=[c[0] for c in CLAIM_FORM_CASES])
def test_claim_form_refuses_bad_input_and_writes_nothing(client, wish, case, change, fields):
    before = snapshot()
    data = {"name": "周先生", "contact": "13800001111", "mode": "gift", **change}
    response = client.post(f"/wishes/{wish.public_id}/claim?lang=en", data=data)
    page = assert_form_refused(response, *fields)
    assert 'class="error"' in page
    assert snapshot() == before


# --- the child form ------------------------------------------------------------------------------


@pytest.fixture
def caseworker_client(app, db):
    caseworker = make_user(Role.CASEWORKER)
    client = client_for(app)
    login(client, caseworker)
    client.caseworker = caseworker
    return client


def _child_form(**changes) -> dict:
    data = child_form()
    data.update(changes)
    return data


CHILD_CASES = [
    ("impossible date", {"birth_date": "2019-13-45"}, ("birth_date",)),
    ("date as words", {"birth_date": "last spring"}, ("birth_date",)),
    ("no birth date", {"birth_date": ""}, ("birth_date",)),
    ("born tomorrow", {"birth_date": (local_today() + timedelta(days=1)).isoformat()}, ("birth_date",)),
    (
        "born 25 years ago",
        {"birth_date": local_today().replace(year=local_today().year - 25).isoformat()},
        ("birth_date",),
    ),
    ("phone as words", {"guardian_phone": "ask the neighbour"}, ("guardian_phone",)),
    ("phone too short", {"guardian_phone": "12"}, ("guardian_phone",)),
    ("phone too long", {"guardian_phone": "1" * 33}, ("guardian_phone",)),
    ("no legal name", {"legal_name": ""}, ("legal_name",)),
    ("legal name too long", {"legal_name": "李" * 61}, ("legal_name",)),
    ("case number too long", {"case_no": "C" * 41}, ("case_no",)),
    ("address too long", {"address": "路" * 201}, ("address",)),
    ("school too long", {"school": "校" * 101}, ("school",)),
    ("place not on the list", {"place": "梁溪区|江海街道|" + "社" * 61}, ("place",)),
    ("alias too long", {"alias": "星" * 21}, ("alias",)),
    ("notes too long", {"notes": "记" * 2001}, ("notes",)),
    ("alias is the name", {"alias": "李小明"}, ("alias",)),
    ("unknown category", {"category": "orphan"}, ("category",)),
    ("unknown gender", {"gender": "robot"}, ("gender",)),
]


@pytest.mark.parametrize("case, change, fields", CHILD_CASES, ids=[c[0] for c in CHILD_CASES])
def test_child_form_refuses_bad_input_and_writes_nothing(caseworker_client, case, change, fields):
    form = _child_form(**change)
    before = snapshot()
    response = caseworker_client.post("/staff/children/new?lang=en", data=form)
    assert_form_refused(response, *fields)
    assert snapshot() == before


def test_child_form_takes_good_input(caseworker_client):
    form = _child_form()
    before = snapshot()
    response = caseworker_client.post("/staff/children/new", data=form)
    assert response.status_code == 302
    assert snapshot()["children"] == before["children"] + 1


# --- the wish form -------------------------------------------------------------------------------


def _wish_form(**changes) -> dict:
    data = wish_data()
    data = {
        "title": data["title"],
        "story": data["story"],
        "category": data["category"],
        "amount": "120.00",
        "needed_by": data["needed_by"].isoformat(),
        "modes": "gift",
        "fund": "",
    }
    data.update(changes)
    return data


WISH_CASES = [
    ("amount zero", {"amount": "0"}, ("amount",)),
    ("amount zero point zero", {"amount": "0.00"}, ("amount",)),
    ("amount negative", {"amount": "-5"}, ("amount",)),
    ("amount three decimals", {"amount": "12.345"}, ("amount",)),
    ("amount as text", {"amount": "一百"}, ("amount",)),
    ("amount empty", {"amount": ""}, ("amount",)),
    ("amount above the maximum", {"amount": "10000.01"}, ("amount",)),
    ("amount absurd", {"amount": "999999999999"}, ("amount",)),
    ("needed by yesterday", {"needed_by": YESTERDAY.isoformat()}, ("needed_by",)),
    ("needed in two years", {"needed_by": (local_today() + timedelta(days=800)).isoformat()}, ("needed_by",)),
    ("needed by no date", {"needed_by": "2025-02-30"}, ("needed_by",)),
    ("unknown fund", {"fund": "no-such-fund"}, ("fund",)),
    ("unknown category", {"category": "toys"}, ("category",)),
    ("unknown mode", {"modes": "barter"}, ("modes",)),
    ("title too short", {"title": "包"}, ("title",)),
    ("title too long", {"title": "包" * 61}, ("title",)),
    ("story too short", {"story": "想要"}, ("story",)),
]


@pytest.mark.parametrize("case, change, fields", WISH_CASES, ids=[c[0] for c in WISH_CASES])
def test_wish_form_refuses_bad_input_and_writes_nothing(caseworker_client, case, change, fields):
    make_fund()
    child = make_child(caseworker_client.caseworker)
    before = snapshot()
    response = caseworker_client.post(f"/staff/children/{child.id}/wishes/new?lang=en", data=_wish_form(**change))
    assert_form_refused(response, *fields)
    assert snapshot() == before


def test_wish_form_takes_good_input(caseworker_client):
    make_fund()
    child = make_child(caseworker_client.caseworker)
    before = snapshot()
    response = caseworker_client.post(
        f"/staff/children/{child.id}/wishes/new", data=_wish_form(amount="10000", fund="xixin-hutong")
    )
    assert response.status_code == 302
    assert snapshot()["wishes"] == before["wishes"] + 1


# --- vetting ------------------------------------------------------------------------------------


RETURNED = "Say why the wish is returned."


@pytest.mark.parametrize(
    "reason, message",
    [("", RETURNED), ("   ", RETURNED), ("x", RETURNED), ("理" * 501, "The reason may be at most 500 characters.")],
    ids=["empty", "blank", "one letter", "too long"],
)
def test_returning_a_wish_needs_a_reason(app, db, reason, message):
    wish = make_wish(WishStatus.SUBMITTED)
    supervisor = make_user(Role.SUPERVISOR)
    client = client_for(app)
    login(client, supervisor)
    before = snapshot()
    response = client.post(f"/staff/wishes/{wish.id}/reject?lang=en", data={"reason": reason})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(rf'role="(alert|status)"[^>]*>\s*{re.escape(message)}\s*<', page), page[-3000:]
    assert wish.title in page and f'action="/staff/wishes/{wish.id}/reject"' in page
    assert snapshot() == before
    response = client.post(f"/staff/wishes/{wish.id}/reject", data={"reason": "故事里有学校名称"})
    assert response.status_code == 302
    assert snapshot()["wish states"] != before["wish states"]


# --- the list API -------------------------------------------------------------------------------

LIST_CASES = [
    ("category=toys", "category"),
    ("max_amount_fen=-1", "max_amount_fen"),
    ("max_amount_fen=12.5", "max_amount_fen"),
    ("max_amount_fen=lots", "max_amount_fen"),
    ("page=0", "page"),
    ("page=-3", "page"),
    ("page=two", "page"),
    ("per_page=1000", "per_page"),
    ("per_page=0", "per_page"),
    ("status=draft", "status"),
    ("sort=random", "sort"),
    ("district=" + "区" * 82, "district"),
    ("colour=red", "colour"),
]


@pytest.mark.parametrize("query, field", LIST_CASES, ids=[c[0][:30] for c in LIST_CASES])
def test_list_api_refuses_bad_filters(client, wish, query, field):
    before = snapshot()
    error = assert_api_error(client.get(f"/api/v1/wishes?{query}"), 422, (field,))
    assert error["code"] == "validation_error"
    assert snapshot() == before


def test_public_list_page_ignores_bad_filters(client, wish):
    for query in ("category=toys", "page=0", "page=abc", "max_yuan=-5", "status=draft", "sort=x"):
        response = client.get(f"/wishes?{query}")
        assert response.status_code == 200, query


@pytest.mark.parametrize(
    "path",
    [
        "/wishes/%00",
        "/wishes?district=%00",
        "/api/v1/wishes/%00",
        "/api/v1/wishes?district=%00",
        "/claims/manage/%00",
        "/wishes?sort=%00&category=%00",
    ],
)
def test_nul_characters_in_urls_are_not_a_crash(client, wish, path):
    """PostgreSQL refuses text with a NUL character even in a comparison."""
    response = client.get(path)
    assert response.status_code < 500, response.status_code
    if path.startswith("/api/") and response.status_code >= 400:
        assert_api_error(response, response.status_code)


def test_nul_characters_in_forms_are_refused_and_write_nothing(caseworker_client, app):
    child = make_child(caseworker_client.caseworker)
    wish = make_wish(WishStatus.PUBLISHED, child=child)
    before = snapshot()
    for url, data in [
        ("/staff/children/new", _child_form(legal_name="李\x00小明")),
        ("/staff/children/new", _child_form(notes="备注\x00")),
        (f"/staff/children/{child.id}/wishes/new", _wish_form(story="旧书包坏了，希望新学期能背上\x00一个新书包。")),
        (f"/staff/wishes/{wish.id}/withdraw", {"reason": "搬家\x00"}),
    ]:
        response = caseworker_client.post(url, data=data)
        assert response.status_code in (400, 422), (url, response.status_code)
    anonymous = client_for(app)
    response = anonymous.post(
        f"/wishes/{wish.public_id}/claim", data={"name": "周\x00", "contact": "13800001111", "mode": "gift"}
    )
    assert response.status_code in (400, 422)
    assert snapshot() == before


# --- where a sign-in may send you -----------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/staff/",
        "https://evil.example",
        "http://evil.example/staff/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "  //evil.example",
        "/%09/evil.example",
        "\t//evil.example",
        "https:evil.example",
    ],
)
def test_next_after_sign_in_stays_on_this_site(app, db, target):
    supervisor = make_user(Role.SUPERVISOR)
    client = client_for(app)
    page = client.get(f"/login?next={quote(target)}")
    assert page.status_code == 200
    response = client.post("/login", data={"email": supervisor.email, "password": "correct-horse-1", "next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location, location
    assert "evil" not in location or parts.path.startswith("/%09"), location


def test_next_after_sign_in_goes_to_the_staff_page_asked_for(app, db):
    supervisor = make_user(Role.SUPERVISOR)
    client = client_for(app)
    response = client.get("/staff/vetting")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert urlsplit(login_url).path == "/login" and "next=" in login_url
    response = client.post(
        "/login", data={"email": supervisor.email, "password": "correct-horse-1", "next": "/staff/vetting"}
    )
    assert response.headers["Location"] == "/staff/vetting"
    assert client.get("/staff/vetting").status_code == 200


# --- CSRF ---------------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(database_url, tmp_path, app):
    second = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    yield second
    with second.app_context():
        from core.extensions import db as _db

        _db.engine.dispose()


def _csrf_token(page: str) -> str:
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_csrf_refuses_a_form_without_its_token(csrf_app, wish):
    client = client_for(csrf_app)
    before = snapshot()
    data = {"name": "周先生", "contact": "13800001111", "mode": "gift"}
    # The token is checked before anything else runs: the page follows the language cookie.
    client.get("/wishes?lang=en")
    response = client.post(f"/wishes/{wish.public_id}/claim", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert response.mimetype == "text/html" and "form expired" in page and "<main" in page
    response = client.post(f"/wishes/{wish.public_id}/claim", data={**data, "csrf_token": "forged"})
    assert response.status_code == 400
    assert snapshot() == before

    token = _csrf_token(client.get(f"/wishes/{wish.public_id}").get_data(as_text=True))
    response = client.post(f"/wishes/{wish.public_id}/claim", data={**data, "csrf_token": token})
    assert response.status_code == 302


def test_csrf_guards_sign_in_and_staff_actions(csrf_app, db):
    caseworker = make_user(Role.CASEWORKER)
    wish = make_wish(WishStatus.DRAFT, child=make_child(caseworker))
    client = client_for(csrf_app)
    credentials = {"email": caseworker.email, "password": "correct-horse-1"}
    assert client.post("/login", data=credentials).status_code == 400
    assert client.get("/staff/wishes").status_code == 302
    token = _csrf_token(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={**credentials, "csrf_token": token}).status_code == 302
    before = snapshot()
    assert client.post(f"/staff/wishes/{wish.id}/submit").status_code == 400
    assert snapshot() == before
    token = _csrf_token(client.get(f"/staff/wishes/{wish.id}").get_data(as_text=True))
    assert client.post(f"/staff/wishes/{wish.id}/submit", data={"csrf_token": token}).status_code == 302
    assert snapshot()["wish states"] != before["wish states"]


def test_the_json_api_needs_no_csrf_token(csrf_app, wish):
    response = client_for(csrf_app).post(f"/api/v1/wishes/{wish.public_id}/claim", json=GOOD_CLAIM)
    assert response.status_code == 201


# --- error statuses of the API --------------------------------------------------------------------


def test_api_404_and_405_are_json(client, wish):
    assert assert_api_error(client.get("/api/v1/wishes/nosuchwish"), 404)["code"] == "not_found"
    assert assert_api_error(client.get("/api/v1/no/such/thing"), 404)["code"] == "not_found"
    response = client.put("/api/v1/wishes", json={})
    assert assert_api_error(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]
    response = client.get(f"/api/v1/wishes/{wish.public_id}/claim")
    assert assert_api_error(response, 405)["code"] == "method_not_allowed"


def test_api_413_is_json_and_writes_nothing(client, wish, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2048)
    before = snapshot()
    response = client.post(f"/api/v1/wishes/{wish.public_id}/claim", json={**GOOD_CLAIM, "pad": "x" * 5000})
    assert assert_api_error(response, 413)["code"] == "payload_too_large"
    assert snapshot() == before


def test_rate_limit_answers_429_as_json_and_as_a_page(database_url, tmp_path, db, monkeypatch):
    # The limiter is one object for the process: leave its switch as it was for the other apps.
    monkeypatch.setattr(limiter, "enabled", limiter.enabled)
    limited = make_app(database_url, tmp_path, RATELIMIT_ENABLED=True, CLAIM_RATE_LIMIT="2 per minute")
    wishes = [make_wish(WishStatus.PUBLISHED) for _ in range(4)]
    client = client_for(limited)
    assert client.post(f"/api/v1/wishes/{wishes[0].public_id}/claim", json=GOOD_CLAIM).status_code == 201
    assert client.post(f"/api/v1/wishes/{wishes[1].public_id}/claim", json=GOOD_CLAIM).status_code == 201
    before = snapshot()
    response = client.post(f"/api/v1/wishes/{wishes[2].public_id}/claim", json=GOOD_CLAIM)
    assert assert_api_error(response, 429)["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0
    form = f"/wishes/{wishes[3].public_id}/claim?lang=en"
    assert client.post(form, data={"name": "", "contact": "13800001111"}).status_code == 422
    assert client.post(form, data={"name": "", "contact": "13800001111"}).status_code == 422
    response = client.post(form, data={**GOOD_CLAIM, "mode": "gift"})
    assert response.status_code == 429 and response.mimetype == "text/html"
    assert "Too many requests" in response.get_data(as_text=True)
    assert snapshot() == before


# --- friendly pages -------------------------------------------------------------------------------


def test_friendly_404_and_403_pages(app, db):
    client = client_for(app)
    response = client.get("/no/such/page?lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "We could not find that page." in page and 'href="/wishes"' in page
    donor = make_user(Role.DONOR)
    login(client, donor)
    response = client.get("/staff/children?lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and response.mimetype == "text/html"
    assert "You do not have permission to see this page." in page


# --- health ----------------------------------------------------------------------------------------


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-dir-for-healthz/sub/weixinyuan.db",
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=3",
    ],
    ids=["sqlite in a missing directory", "postgres on a dead port"],
)
def test_healthz_answers_503_without_a_database(tmp_path, url):
    assert not Path("/nonexistent-dir-for-healthz").exists()
    broken = make_app(url, tmp_path)
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] != "ok"


@pytest.mark.parametrize("depth", [21, 1000, 100_000])
def test_deeply_nested_json_is_a_400_and_writes_nothing(client, wish, depth, caplog):
    before = snapshot()
    nested = "[" * depth + "]" * depth
    for url in (f"/api/v1/wishes/{wish.public_id}/claim", "/api/v1/donations"):
        response = client.post(url, data=f'{{"name": {nested}}}', content_type="application/json")
        assert assert_api_error(response, 400)["code"] == "invalid_json"
    assert snapshot() == before
    assert not any(record.levelname == "ERROR" for record in caplog.records)


def test_malformed_json_is_a_400(client, wish):
    for body in ('{"name": "a",', "{not json}", '{"name": "\\ud800"', "\xff"):
        response = client.post(f"/api/v1/wishes/{wish.public_id}/claim", data=body, content_type="application/json")
        assert assert_api_error(response, 400)["code"] == "invalid_json"


def test_brackets_inside_strings_do_not_count_as_nesting(client, wish):
    name = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{ \\" + '"' + " ]]"
    response = client.post(
        f"/api/v1/wishes/{wish.public_id}/claim",
        data='{"name": "' + name + '", "contact": "13800001111"}',
        content_type="application/json",
    )
    assert response.status_code == 201
