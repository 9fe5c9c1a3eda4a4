"""Public fund, project and campaign pages, the fund API, QR codes and printable posters."""

from datetime import date

import pytest

from core import qr
from core.clock import local_today
from core.models import Role
from core.urls import public_url
from funds import donations, integrity, ledger, services
from funds.models import Campaign, Project
from tests.factories import make_fund, make_user, make_wish
from tests.helpers import client_for, fast_passwords  # noqa: F401 (an autouse fixture)
from wishes.models import WishStatus

BIRTH = date(local_today().year - 8, 1, 5)
PRIVATE = {
    "case_no": "CANARYCASE1A",
    "legal_name": "CANARYNAME2B",
    "birth_date": BIRTH,
    "guardian_name": "CANARYGUARD3C",
    "guardian_phone": "13599990002",
    "address": "CANARYADDR4D路1号",
    "school": "CANARYSCHOOL5E小学",
    "community": "CANARYCOMM6F社区",
    "notes": "CANARYNOTES7G",
    "district": "滨湖区",
    "street": "蠡湖街道",
    "alias": "小月亮",
}
CANARIES = ["CANARY", "13599990002", BIRTH.isoformat(), BIRTH.strftime("%Y%m%d")]


@pytest.fixture
def world(app, db):
    admin = make_user(Role.FUND_ADMIN)
    fund = make_fund()
    other = make_fund(slug="other-fund", name="另一个基金")
    project = services.create_project(
        admin, services.ProjectInput("reading-corner", "阅读角", fund.slug, 100_000, 300, "梁溪区")
    )
    campaign = services.create_campaign(
        admin, services.CampaignInput("registry", "婚姻登记处", fund.slug, kind="couple", presets=[5200, 52000])
    )
    donor = donations.DonorInput(name="王先生", contact="13800003333")
    donations.record_offline(admin, donations.resolve_target(fund=fund.slug), 50_000, donor, "cash", None)
    gift = donations.record_offline(
        admin, donations.resolve_target(project=project.slug), 30_000, donor, "bank_transfer", "B-1"
    )
    donations.record_offline(
        admin,
        donations.resolve_target(campaign=campaign.slug),
        52_000,
        donations.DonorInput(name="张三", contact="13800004444", partner_name="李四"),
        "cash",
        None,
    )
    donations.record_offline(admin, donations.resolve_target(fund=other.slug), 1_000, donor, "cash", None)
    donations.refund(gift, 10_000, admin, source_key="test-refund:1")
    db.session.commit()
    return {"admin": admin, "fund": fund, "other": other, "project": project, "campaign": campaign}


def test_api_funds_match_the_ledger(client, world):
    body = client.get("/api/v1/funds").get_json()
    figures = ledger.figures()
    assert integrity.check() == []
    by_slug = {item["slug"]: item for item in body["items"]}
    assert set(by_slug) == {"xixin-hutong", "other-fund"}
    for fund in (world["fund"], world["other"]):
        item = by_slug[fund.slug]
        f = figures[fund.id]
        assert (item["balance_fen"], item["raised_fen"], item["spent_fen"]) == (
            f.balance_fen,
            f.raised_fen,
            f.spent_fen,
        )
        assert item["name"] == fund.name
        assert item["url"] == f"http://localhost/funds/{fund.slug}"
    assert by_slug["xixin-hutong"]["balance_fen"] == 50_000 + 30_000 + 52_000 - 10_000


def test_api_funds_shows_only_open_funds_and_is_in_the_openapi_document(client, world, db):
    world["other"].active = False
    db.session.commit()
    assert [i["slug"] for i in client.get("/api/v1/funds").get_json()["items"]] == ["xixin-hutong"]
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "get" in doc["paths"]["/api/v1/funds"]
    assert "FundList" in doc["components"]["schemas"]


def test_public_fund_pages(client, world, db):
    page = client.get("/funds?lang=en").get_data(as_text=True)
    assert "溪心护童专项基金" in page and "¥1,220" in page
    page = client.get("/funds/xixin-hutong?lang=en").get_data(as_text=True)
    assert "¥1,220" in page and 'href="/donate/fund/xixin-hutong"' in page and "阅读角" in page and "婚姻登记处" in page
    assert client.get("/funds/nope").status_code == 404
    world["other"].active = False
    db.session.commit()
    assert client.get("/funds/other-fund").status_code == 404


def test_project_page_shows_goal_and_progress(client, world, db, app):
    page = client.get("/projects/reading-corner?lang=en").get_data(as_text=True)
    assert "¥1,000" in page and "¥200" in page  # goal, and what stayed after the refund
    assert 'value="20"' in page and 'href="/donate/project/reading-corner"' in page
    services.close_project(world["admin"], world["project"])
    db.session.commit()
    page = client.get("/projects/reading-corner?lang=en").get_data(as_text=True)
    assert "closed to donations" in page and "/donate/project/" not in page


def test_campaign_page_links_to_its_donation_form(client, world):
    page = client.get("/campaigns/registry?lang=en").get_data(as_text=True)
    assert "婚姻登记处" in page and 'href="/donate/campaign/registry"' in page and "¥520" in page
    assert client.get("/campaigns/nope").status_code == 404


@pytest.mark.parametrize(
    "url, target",
    [
        ("/funds/xixin-hutong/qr", "http://localhost/funds/xixin-hutong?src=qr"),
        ("/projects/reading-corner/qr", "http://localhost/projects/reading-corner?src=qr"),
        ("/campaigns/registry/qr", "http://localhost/donate/campaign/registry?src=qr"),
    ],
)
def test_qr_codes_point_at_the_public_base_url_and_use_etags(client, world, monkeypatch, url, target):
    seen = []
    real = qr.render
    monkeypatch.setattr(qr, "render", lambda t, fmt: seen.append(t) or real(t, fmt))
    for fmt, mimetype in (("svg", "image/svg+xml"), ("png", "image/png")):
        response = client.get(f"{url}.{fmt}")
        assert response.status_code == 200 and response.mimetype == mimetype
        etag = response.headers["ETag"]
        again = client.get(f"{url}.{fmt}", headers={"If-None-Match": etag})
        assert again.status_code == 304 and not again.get_data()
    assert set(seen) == {target}
    assert client.get(url + ".gif").status_code == 404


def test_unknown_things_have_no_qr_code(client, world):
    for url in ("/funds/nope/qr.svg", "/projects/nope/qr.png", "/campaigns/nope/qr.svg"):
        assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "kind, ident, title",
    [
        ("fund", "xixin-hutong", "溪心护童专项基金"),
        ("project", "reading-corner", "阅读角"),
        ("campaign", "registry", "婚姻登记处"),
    ],
)
def test_posters_in_a4_and_a5(client, world, kind, ident, title):
    a4 = client.get(f"/posters/{kind}/{ident}").get_data(as_text=True)
    assert title in a4 and "size-a4" in a4 and "/qr.svg" in a4
    a5 = client.get(f"/posters/{kind}/{ident}?size=a5").get_data(as_text=True)
    assert "size-a5" in a5
    assert "size-a4" in client.get(f"/posters/{kind}/{ident}?size=letter").get_data(as_text=True)


def test_poster_of_unknown_kind_or_thing_is_not_found(client, world):
    for url in ("/posters/child/1", "/posters/fund/nope", "/posters/wish/nope", "/posters/campaign/nope"):
        assert client.get(url).status_code == 404


def test_wish_poster_shows_only_alias_age_and_district(client, db):
    from tests.factories import make_child

    child = make_child(**PRIVATE)
    wish = make_wish(WishStatus.PUBLISHED, child=child, title="一双跑鞋")
    response = client.get(f"/posters/wish/{wish.public_id}?size=a5")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "一双跑鞋" in page and "小月亮" in page and "滨湖区蠡湖街道" in page and str(child.age) in page
    assert f"/wishes/{wish.public_id}/qr.svg" in page
    assert public_url("wishes.detail", public_id=wish.public_id, src="qr") in page
    blob = (page + str(response.headers)).lower()
    assert [c for c in CANARIES if c.lower() in blob] == []

    draft = make_wish(WishStatus.DRAFT, child=child, title="草稿")
    assert client.get(f"/posters/wish/{draft.public_id}").status_code == 404


def test_public_pages_work_on_a_phone_without_signing_in(app, world):
    client = client_for(app)
    headers = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile"}
    for url in (
        "/funds",
        "/funds/xixin-hutong",
        "/projects/reading-corner",
        "/campaigns/registry",
        "/posters/campaign/registry",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert 'name="viewport"' in response.get_data(as_text=True)
    assert Project.query.count() == 1 and Campaign.query.count() == 1


def test_a_closed_fund_hides_its_projects_campaigns_and_codes(client, world, db):
    world["fund"].active = False
    db.session.commit()
    for url in (
        "/funds/xixin-hutong",
        "/projects/reading-corner",
        "/campaigns/registry",
        "/projects/reading-corner/qr.svg",
        "/campaigns/registry/qr.png",
        "/posters/project/reading-corner",
        "/posters/campaign/registry",
    ):
        assert client.get(url).status_code == 404, url
    assert "溪心护童专项基金" not in client.get("/funds").get_data(as_text=True)


def test_the_wish_page_links_to_its_poster(client, db):
    wish = make_wish(WishStatus.PUBLISHED)
    assert f"/posters/wish/{wish.public_id}" in client.get(f"/wishes/{wish.public_id}").get_data(as_text=True)
