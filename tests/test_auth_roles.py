"""Every staff page checks sign-in and role on the server; caseworkers see only their own children."""

from urllib.parse import parse_qs, urlsplit

import pytest

from core.clock import local_today
from core.extensions import limiter
from core.models import Role
from funds import disbursements, donations
from funds import services as fund_services
from impact import services as impact_services
from payments import apply
from payments.models import PaymentReview
from reconcile.models import ReconcileItem, ReconcileRun
from reminders import pairings
from tests.conftest import make_app
from tests.factories import PASSWORD, child_form, claim, login, make_child, make_fund, make_user, make_wish
from tests.helpers import client_for, fast_passwords, snapshot  # noqa: F401 (an autouse fixture)
from wishes import stations
from wishes.models import WishStatus

STAFF_PREFIXES = ("/staff", "/admin")


@pytest.fixture
def world(app, db):
    owner = make_user(Role.CASEWORKER, name="甲社工")
    child = make_child(owner, legal_name="王秘密", guardian_phone="13566660000", alias="小禾")
    draft = make_wish(WishStatus.DRAFT, child=child, title="一本字典")
    published = make_wish(WishStatus.PUBLISHED, child=child, title="一副羽毛球拍")
    c, _token = claim(published)
    users = {role: make_user(role) for role in Role}
    users[Role.CASEWORKER] = owner
    fund = make_fund()
    project = fund_services.create_project(
        owner, fund_services.ProjectInput("reading-corner", "阅读角", fund.slug, 100_000)
    )
    donor = donations.DonorInput(name="王先生", contact="13800003333")
    donation = donations.record_offline(
        users[Role.FUND_ADMIN], donations.resolve_target(fund=fund.slug), 10_000, donor, "cash", None
    )
    station = stations.create_station(
        users[Role.SUPERVISOR],
        {
            "district": "梁溪区",
            "street": "江海街道",
            "name": "江海街道未保站",
            "address": "凤宾社区一楼",
            "hours": "周一至周五 9:00–17:00",
            "contact_name": "周老师",
            "contact_phone": "0510-8272 0002",
        },
    )
    spent = disbursements.request(
        users[Role.FUND_ADMIN],
        fund,
        disbursements.DisbursementInput("supplier", 1_000, "文具店", "铅笔"),
    )
    run = ReconcileRun(source="stripe", actor_label="cli:reconcile")
    db.session.add(run)
    # A Stripe charge naming no donation: both a correcting journal and a link answer it.
    item = ReconcileItem(
        run=run, kind="missing_here", reference="txn_world", external_ref="ch_world", amount_fen=500, difference_fen=500
    )
    db.session.add(item)
    unknown = {"id": "evt_world_unknown", "type": "checkout.session.completed", "data": {"object": {"metadata": {}}}}
    assert apply.handle_event(unknown) == "review"
    pairing = pairings.create_pairing(
        owner, child, pairings.PairingInput("李党员", "volunteer@example.org", "zh_CN", local_today())
    )
    activity = impact_services.record_activity(
        owner, impact_services.ActivityInput(local_today(), "home_visit", "梁溪区|江海街道|凤宾社区", 1, 2)
    )
    db.session.commit()
    return {
        "owner": owner,
        "child": child,
        "draft": draft,
        "published": published,
        "claim": c,
        "users": users,
        "fund": fund,
        "project": project,
        "donation": donation,
        "review": db.session.scalar(db.select(PaymentReview)),
        "station": station,
        "disbursement": spent,
        "run": run,
        "item": item,
        "pairing": pairing,
        "activity": activity,
    }


def _staff_urls(app, world, method: str) -> list[tuple[str, str]]:
    values = {
        "child_id": world["child"].id,
        "wish_id": world["draft"].id,
        "claim_id": world["claim"].id,
        "user_id": world["users"][Role.DONOR].id,
        "slug": world["fund"].slug,
        "project_id": world["project"].id,
        "donation_id": world["donation"].id,
        "review_id": world["review"].id,
        "station_id": world["station"].id,
        "disbursement_id": world["disbursement"].id,
        "run_id": world["run"].id,
        "item_id": world["item"].id,
        "pairing_id": world["pairing"].id,
        "activity_id": world["activity"].id,
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if method in rule.methods and rule.rule.startswith(STAFF_PREFIXES):
            built = rule.build({k: values.get(k, 1) for k in rule.arguments}, append_unknown=False)
            urls.append((rule.endpoint, built[1]))
    return sorted(urls)


def _allowed_roles(app, endpoint: str) -> set[str]:
    view = app.view_functions[endpoint]
    roles = getattr(view, "required_roles", None)
    if roles is None:  # the staff home page: any staff role
        return {str(r) for r in Role} - {Role.DONOR}
    return {str(r) for r in roles} | {Role.ADMIN}


def test_there_are_staff_routes_to_check(app, world):
    assert len(_staff_urls(app, world, "GET")) >= 8 and len(_staff_urls(app, world, "POST")) >= 8


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_anonymous_visitors_are_sent_to_sign_in_and_back(app, world, method):
    client = client_for(app)
    before = snapshot()
    for _endpoint, url in _staff_urls(app, world, method):
        response = client.open(url, method=method, data={"reason": "x", "note": "x"})
        assert response.status_code == 302, (method, url, response.status_code)
        location = urlsplit(response.headers["Location"])
        assert location.path == "/login", (url, response.headers["Location"])
        assert parse_qs(location.query)["next"] == [url], (url, location.query)
    assert snapshot() == before


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_wrong_roles_get_403_and_change_nothing(app, world, role, method):
    client = client_for(app)
    login(client, world["users"][role])
    before = snapshot()
    refused = 0
    for endpoint, url in _staff_urls(app, world, method):
        if role in _allowed_roles(app, endpoint):
            continue
        response = client.open(url, method=method, data={"reason": "x", "note": "x"})
        assert response.status_code == 403, (role, method, url, response.status_code)
        refused += 1
    assert snapshot() == before
    if role == Role.DONOR:
        assert refused == len(_staff_urls(app, world, method))


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.SUPERVISOR, Role.ADMIN])
def test_the_right_roles_see_their_pages(app, world, role):
    client = client_for(app)
    login(client, world["users"][role])
    seen = 0
    for endpoint, url in _staff_urls(app, world, "GET"):
        if role not in _allowed_roles(app, endpoint):
            continue
        response = client.get(url)
        if endpoint.endswith("photo"):
            assert response.status_code == 404, url  # the claim has no photo yet
        else:
            assert response.status_code == 200, (role, url, response.status_code)
        seen += 1
    assert seen >= 4


def test_admin_passes_every_staff_check(app, world):
    client = client_for(app)
    login(client, world["users"][Role.ADMIN])
    for endpoint, url in _staff_urls(app, world, "GET"):
        response = client.get(url)
        assert response.status_code in (200, 404) and not (
            endpoint.endswith("photo") ^ (response.status_code == 404)
        ), (
            url,
            response.status_code,
        )


def test_a_caseworker_cannot_see_another_caseworkers_child(app, world):
    other = client_for(app)
    login(other, make_user(Role.CASEWORKER))
    child, draft, published, c = world["child"], world["draft"], world["published"], world["claim"]
    before = snapshot()
    for url in [
        f"/staff/children/{child.id}",
        f"/staff/children/{child.id}/edit",
        f"/staff/children/{child.id}/wishes/new",
        f"/staff/wishes/{draft.id}",
        f"/staff/wishes/{draft.id}/edit",
        f"/staff/wishes/{published.id}",
        f"/staff/claims/{c.id}/photo",
    ]:
        response = other.get(url)
        assert response.status_code == 403, (url, response.status_code)
        assert "王秘密" not in response.get_data(as_text=True)
    # A form sent half-filled must not come back filled in from the file.
    for url, data in [
        (f"/staff/children/{child.id}/edit", {"case_no": "X-1"}),
        (f"/staff/children/{child.id}/edit", {}),
        (f"/staff/children/{child.id}/wishes/new", {"title": "x"}),
        (f"/staff/wishes/{draft.id}/edit", {"title": "x"}),
    ]:
        response = other.post(url, data=data)
        assert response.status_code == 403, (url, response.status_code)
        page = response.get_data(as_text=True)
        assert "王秘密" not in page and "13566660000" not in page and "一本字典" not in page
    full = {**child_form(), "birth_date": child.birth_date.isoformat(), "legal_name": "改名"}
    assert other.post(f"/staff/children/{child.id}/edit", data=full).status_code == 403
    for path in ("/staff/children", "/staff/wishes", "/staff/claims"):
        page = other.get(path).get_data(as_text=True)
        assert "小禾" not in page and "王秘密" not in page and "一副羽毛球拍" not in page, path
    assert snapshot() == before


def test_a_supervisor_sees_every_child(app, world):
    supervisor = client_for(app)
    login(supervisor, world["users"][Role.SUPERVISOR])
    child = world["child"]
    page = supervisor.get(f"/staff/children/{child.id}").get_data(as_text=True)
    assert "王秘密" in page and "13566660000" in page
    assert "小禾" in supervisor.get("/staff/children").get_data(as_text=True)
    assert supervisor.get(f"/staff/wishes/{world['draft'].id}").status_code == 200
    assert "一副羽毛球拍" in supervisor.get("/staff/claims").get_data(as_text=True)


def test_sign_in_attempts_are_rate_limited(database_url, tmp_path, db, monkeypatch):
    monkeypatch.setattr(limiter, "enabled", limiter.enabled)
    limited = make_app(database_url, tmp_path, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    user = make_user(Role.SUPERVISOR)
    client = client_for(limited)
    for _ in range(3):
        assert client.post("/login", data={"email": user.email, "password": "wrong-password"}).status_code == 422
    response = client.post("/login?lang=en", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many requests" in response.get_data(as_text=True)
    assert client.get("/login").status_code == 200
    assert client.get("/staff/").status_code == 302, "the right password after the limit must not sign in"


def test_logout_is_post_only(app, world):
    client = client_for(app)
    login(client, world["users"][Role.DONOR])
    response = client.get("/logout")
    assert response.status_code == 405
    assert client.get("/me/claims").status_code == 200, "a GET (a link, an <img>) must not sign anyone out"
    response = client.post("/logout")
    assert response.status_code == 302
    response = client.get("/me/claims")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
