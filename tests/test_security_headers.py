"""Every route, for a visitor and for a signed-in admin: the security headers, a page that needs
no inline script or style, and cookies that scripts cannot read.

The routes are read from the app's URL map, so a page added later is checked without anyone
remembering to list it here.
"""

import re
from html.parser import HTMLParser

import pytest

from core.logging import CONTENT_SECURITY_POLICY
from core.models import Role
from funds import donations, services
from tests.conftest import make_app
from tests.factories import PASSWORD, claim, login, make_child, make_fund, make_user, make_wish
from tests.helpers import client_for, fast_passwords  # noqa: F401 (an autouse fixture)
from wishes.models import WishStatus

#: The headers every answer carries, whatever wrote it.
REQUIRED = ("Content-Security-Policy", "Permissions-Policy", "X-Content-Type-Options", "X-Frame-Options")
#: Routes that answer a GET with a file download or a redirect elsewhere, never a page of the site.
DOWNLOADS = re.compile(r"\.(csv|xlsx|pdf|png|svg|json)$|/photo$|/evidence-photo$|^/static/")


class InlineCode(HTMLParser):
    """Finds what a strict Content-Security-Policy would block: inline scripts, styles and handlers."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._script_without_src = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "style":
            self.found.append("<style>")
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self._script_without_src = True
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")

    def handle_data(self, data):
        if self._script_without_src and data.strip():
            self.found.append("<script>…</script>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_without_src = False


@pytest.fixture
def world(db):
    admin = make_user(Role.ADMIN, Role.FUND_ADMIN, Role.CASEWORKER, Role.SUPERVISOR, email="admin@example.org")
    caseworker = make_user(Role.CASEWORKER)
    fund = make_fund()
    project = services.create_project(
        admin, services.ProjectInput("reading-corner", "阅读角", fund.slug, 100_000, 300, "梁溪区")
    )
    campaign = services.create_campaign(
        admin, services.CampaignInput("registry", "婚姻登记处", fund.slug, kind="couple", presets=[5200, 52000])
    )
    donation = donations.record_offline(
        admin,
        donations.resolve_target(campaign=campaign.slug),
        52_000,
        donations.DonorInput(name="张三", contact="13800004444", partner_name="李四"),
        "cash",
        None,
    )
    child = make_child(caseworker)
    wish = make_wish(WishStatus.PUBLISHED, child=child, fund=fund.slug, modes="either", amount_fen=16800)
    claimed = make_wish(WishStatus.PUBLISHED, child=child)
    the_claim, token = claim(claimed)
    db.session.commit()
    return {
        "admin": admin,
        "fund": fund.slug,
        "project": project.slug,
        "campaign": campaign.slug,
        "donation": donation.public_id,
        "donation_id": donation.id,
        "child_id": child.id,
        "wish": wish.public_id,
        "wish_id": wish.id,
        "claim_id": the_claim.id,
        "claim_public_id": the_claim.public_id,
        "token": token,
        "user_id": admin.id,
    }


def _url(rule, world) -> str:
    """The rule with arguments that name real things where the route's meaning is plain."""
    path = rule.rule
    donation_route = "donation" in path or "receipt" in path or "certificate" in path
    kind = "project" if "/projects/" in path else "campaign" if "/campaigns/" in path else "fund"
    values = {
        "public_id": world["donation"] if donation_route else world["wish"],
        "donation_id": world["donation_id"] if "/staff/" in path else world["donation"],
        "slug": world[kind],
        "kind": "fund",
        "ident": world["fund"],
        "fmt": "svg",
        "child_id": world["child_id"],
        "wish_id": world["wish_id"],
        "claim_id": world["claim_id"] if "/staff/" in path else world["claim_public_id"],
        "token": world["token"],
        "user_id": world["user_id"],
        "review_id": 1,
        "station_id": 1,
        "disbursement_id": 1,
        "item_id": 1,
        "run_id": 1,
        "project_id": 1,
        "filename": "css/site.css",
    }
    # Any other argument names something absent: the answer (a 404) must carry the headers too.
    return re.sub(r"<(?:[^:<>]+:)?([a-z_]+)>", lambda m: str(values.get(m.group(1), 1)), path)


def _get_routes(app):
    return sorted((r for r in app.url_map.iter_rules() if "GET" in r.methods), key=lambda r: r.rule)


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "admin"])
def test_every_route_sends_the_headers_and_no_inline_code(app, world, signed_in):
    client = client_for(app)
    if signed_in:
        login(client, world["admin"], PASSWORD)
    pages = 0
    for rule in _get_routes(app):
        url = _url(rule, world)
        response = client.get(url)
        assert response.status_code < 500, url
        for header in REQUIRED:
            assert response.headers.get(header), (url, header)
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        if response.mimetype == "text/html" and response.status_code == 200 and not DOWNLOADS.search(rule.rule):
            pages += 1
            parser = InlineCode()
            parser.feed(response.get_data(as_text=True))
            assert not parser.found, (url, parser.found)
    # The check above means something only if the pages were really rendered.
    assert pages >= (40 if signed_in else 15), pages


def test_the_policy_allows_no_inline_code_and_no_other_site():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


def test_error_pages_carry_the_headers_too(client, db):
    for response in (client.get("/no-such-page"), client.get("/api/v1/wishes/nope"), client.post("/api/v1/donations")):
        assert response.status_code in (400, 404, 415, 422)
        for header in REQUIRED:
            assert response.headers.get(header), (response.request.path, header)


def _cookie_flags(response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c.lower() for c in response.headers.getlist("Set-Cookie")}


def test_session_and_remember_cookies_are_httponly_samesite_and_secure_behind_https(database_url, tmp_path, db):
    user = make_user(Role.CASEWORKER, email="cw@example.org")
    db.session.commit()
    for base, secure in (("http://localhost", False), ("https://weixinyuan.example.org", True)):
        app = make_app(database_url, tmp_path, PUBLIC_BASE_URL=base)
        client = app.test_client()
        response = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
        assert response.status_code == 302
        cookies = _cookie_flags(response)
        assert {"session", "remember_token"} <= set(cookies), cookies
        for name in ("session", "remember_token"):
            assert "httponly" in cookies[name] and "samesite=lax" in cookies[name], cookies[name]
            assert ("; secure" in cookies[name]) is secure, cookies[name]
        assert ("Strict-Transport-Security" in response.headers) is secure
