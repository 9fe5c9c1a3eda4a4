"""Every public page a donor shares carries its own title, description and picture for chat apps,
and the wish's share picture holds only what the wish page shows."""

import io
import re

import pytest
from PIL import Image

from core.models import Role
from funds import services
from tests.factories import make_child, make_fund, make_user, make_wish

#: The child's private file, planted to be looked for.
PRIVATE = {
    "legal_name": "王雨涵",
    "guardian_name": "王建军",
    "guardian_phone": "13907654321",
    "school": "梁溪区实验小学",
}


def _meta(html: str) -> dict[str, str]:
    return dict(re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)"', html))


@pytest.fixture
def pages(db):
    admin = make_user(Role.FUND_ADMIN)
    fund = make_fund()
    project = services.create_project(
        admin, services.ProjectInput("reading-corner", "阅读角", fund.slug, 100_000, 300, "梁溪区")
    )
    campaign = services.create_campaign(
        admin, services.CampaignInput("registry", "婚姻登记处", fund.slug, kind="couple", presets=[5200])
    )
    wish = make_wish(child=make_child(alias="小雨点", **PRIVATE), title="一双新球鞋")
    db.session.commit()
    return {
        "wish": (f"/wishes/{wish.public_id}", "一双新球鞋", f"/wishes/{wish.public_id}/share.png"),
        "fund": (f"/funds/{fund.slug}", fund.name, f"/funds/{fund.slug}/qr.png"),
        "project": (f"/projects/{project.slug}", "阅读角", f"/projects/{project.slug}/qr.png"),
        "campaign": (f"/campaigns/{campaign.slug}", "婚姻登记处", f"/campaigns/{campaign.slug}/qr.png"),
        "list": ("/", "微心愿", "/static/icons/icon-512.png"),
    }


@pytest.mark.parametrize("kind", ["wish", "fund", "project", "campaign", "list"])
def test_every_public_page_type_carries_its_share_data(client, pages, kind):
    path, title, image = pages[kind]
    html = client.get(path).get_data(as_text=True)
    meta = _meta(html)
    assert title in meta["og:title"]
    assert meta["og:description"] and meta["description"] == meta["og:description"]
    assert meta["og:image"].startswith("http") and meta["og:image"].endswith(image)
    assert meta["og:url"].startswith("http")
    assert 'rel="icon"' in html and 'rel="apple-touch-icon"' in html and 'rel="manifest"' in html
    # The linked picture exists.
    assert client.get(image).status_code == 200
    if kind != "list":
        assert "data-share" in html


def test_the_wish_share_picture_is_a_portrait_png_with_a_readable_qr(client, pages):
    path, _title, image = pages["wish"]
    response = client.get(image)
    assert response.status_code == 200 and response.mimetype == "image/png"
    picture = Image.open(io.BytesIO(response.data))
    assert picture.size == (1080, 1440)
    # The QR code's quiet zone and modules: black and white pixels in its square.
    square = picture.crop((240, 500, 840, 1100)).convert("L")
    assert square.getextrema() == (0, 255)
    assert client.get(image, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_no_private_field_reaches_the_share_data(client, pages):
    path, _title, _image = pages["wish"]
    html = client.get(path).get_data(as_text=True)
    shared = " ".join(_meta(html).values())
    assert "小雨点" in shared
    for value in PRIVATE.values():
        assert value not in shared


def test_a_share_picture_of_a_wish_that_is_not_public_does_not_exist(client, db):
    draft = make_wish(status="draft")
    assert client.get(f"/wishes/{draft.public_id}/share.png").status_code == 404
