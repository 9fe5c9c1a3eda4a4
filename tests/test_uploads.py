"""The donor's delivery photo: checked by content, re-encoded without EXIF, kept private.

A photo taken at the child's home carries where and when it was taken; the stored copy
must not, and only the donor's private link or the child's caseworker may see it.
"""

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from core.models import Role
from tests.factories import claim, login, make_user, make_wish
from tests.helpers import client_for, fast_passwords, snapshot  # noqa: F401 (an autouse fixture)
from wishes import services
from wishes.models import Claim, WishStatus

MAKE, MODEL, GPS_IFD = 0x010F, 0x0110, 0x8825


def jpeg_with_exif(size=(640, 480)) -> bytes:
    image = Image.new("RGB", size, (200, 120, 40))
    for x in range(0, size[0], 8):
        image.putpixel((x, x % size[1]), (0, 0, 255))
    exif = Image.Exif()
    exif[MAKE] = "SpyCamMaker"
    exif[MODEL] = "SpyCam 3000"
    exif[0x0112] = 6  # orientation: the camera was held upright
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (31.0, 29.0, 12.5), 3: "E", 4: (120.0, 18.0, 3.25)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def noisy_jpeg(size=(400, 400)) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", size, bytes((i * 7919) % 251 for i in range(size[0] * size[1] * 3))).save(
        out, "JPEG", quality=95
    )
    return out.getvalue()


def png(size, mode="1") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def guest(app, db):
    caseworker = make_user(Role.CASEWORKER)
    wish = make_wish(WishStatus.PUBLISHED, caseworker=caseworker)
    c, token = claim(wish)
    return {"claim": c, "token": token, "caseworker": caseworker, "wish": wish}


def upload(client, token, data: bytes, filename="photo.jpg", mimetype="image/jpeg", note="放在未保站了"):
    return client.post(
        f"/claims/manage/{token}/delivery?lang=en",
        data={"note": note, "photo": (io.BytesIO(data), filename, mimetype)},
        content_type="multipart/form-data",
    )


def stored_path(app, claim_id) -> Path:
    name = services.get_claim(claim_id).delivery_photo
    assert name
    return Path(app.config["UPLOAD_FOLDER"]) / name


def test_a_real_photo_is_stored_without_its_exif(app, guest):
    original = jpeg_with_exif()
    with Image.open(io.BytesIO(original)) as source:
        assert source.getexif()[MAKE] == "SpyCamMaker" and source.getexif().get_ifd(GPS_IFD)
    client = client_for(app)
    response = upload(client, guest["token"], original)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/claims/manage/{guest['token']}")

    path = stored_path(app, guest["claim"].id)
    assert path.is_file() and path.parent == Path(app.config["UPLOAD_FOLDER"])
    assert Path(app.static_folder) not in path.parents
    stored = path.read_bytes()
    assert stored != original
    assert b"SpyCam" not in stored and b"Exif" not in stored
    with Image.open(path) as image:
        assert image.format == "JPEG"
        assert len(image.getexif()) == 0 and "exif" not in image.info
        assert image.size == (480, 640), "the photo is turned upright before its orientation tag is dropped"

    response = client.get(f"/claims/manage/{guest['token']}/photo")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.data == stored
    page = client.get(f"/claims/manage/{guest['token']}").get_data(as_text=True)
    assert f"/claims/manage/{guest['token']}/photo" in page


BAD_FILES = [
    (
        "html named .jpg",
        b"<html><body><script>alert(document.cookie)</script></body></html>",
        "photo.jpg",
        "image/jpeg",
    ),
    (
        "pdf",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        "proof.pdf",
        "application/pdf",
    ),
    ("svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>', "photo.svg", "image/svg+xml"),
    ("empty", b"", "photo.jpg", "image/jpeg"),
    ("truncated jpeg", None, "photo.jpg", "image/jpeg"),
    ("a bomb past Pillow's hard limit", None, "bomb.png", "image/png"),
    ("more pixels than allowed", None, "big.png", "image/png"),
]


def _bad_bytes(case: str, data: bytes | None) -> bytes:
    if case == "truncated jpeg":
        return jpeg_with_exif()[:600]
    if case == "a bomb past Pillow's hard limit":
        return png((20_000, 20_000))
    if case == "more pixels than allowed":
        # 49 million pixels: above UPLOAD_MAX_PIXELS (40 million) yet small on disk.
        return png((7_000, 7_000))
    return data


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("case, data, filename, mimetype", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_what_is_not_a_photo_is_refused_and_nothing_is_written(app, guest, case, data, filename, mimetype):
    client = client_for(app)
    before = snapshot()
    response = upload(client, guest["token"], _bad_bytes(case, data), filename, mimetype)
    page = response.get_data(as_text=True)
    assert response.status_code == 422, (case, response.status_code)
    assert re.search(r'<div class="field has-error">.*?name="photo".*?<p class="error"[^>]*>\s*\S', page, re.DOTALL)
    assert snapshot() == before


def test_a_photo_over_the_size_limit_is_refused(app, guest, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 20_000)
    photo = noisy_jpeg()
    assert len(photo) > 20_000
    client = client_for(app)
    before = snapshot()
    response = upload(client, guest["token"], photo)
    assert response.status_code == 422
    assert "may be at most" in response.get_data(as_text=True)
    assert snapshot() == before


def test_a_request_over_the_upload_limit_is_a_friendly_413(app, guest, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 50_000)
    client = client_for(app)
    before = snapshot()
    response = upload(client, guest["token"], noisy_jpeg((600, 600)))
    assert response.status_code == 413 and response.mimetype == "text/html"
    assert "The upload is too large." in response.get_data(as_text=True)
    assert snapshot() == before


def test_a_photo_for_a_claim_that_ended_is_not_kept(app, guest):
    services.cancel_claim(guest["claim"], "donor", "改期")
    from core.extensions import db

    db.session.commit()
    client = client_for(app)
    before = snapshot()
    response = upload(client, guest["token"], jpeg_with_exif())
    assert response.status_code == 409
    assert snapshot() == before


def test_the_photo_is_private(app, guest, db):
    donor = make_user(Role.DONOR)
    wish = make_wish(WishStatus.PUBLISHED, caseworker=guest["caseworker"])
    own, _token = services.claim_wish(
        wish, services.ClaimInput(name="孙先生", contact=donor.email, display_name="孙先生"), donor=donor
    )
    db.session.commit()
    owner = client_for(app)
    login(owner, donor)
    response = owner.post(
        f"/me/claims/{own.public_id}/delivery",
        data={"note": "", "photo": (io.BytesIO(jpeg_with_exif()), "p.jpg", "image/jpeg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert upload(client_for(app), guest["token"], jpeg_with_exif()).status_code == 302
    name = db.session.get(Claim, own.id).delivery_photo
    guest_claim = guest["claim"]

    assert owner.get(f"/me/claims/{own.public_id}/photo").status_code == 200

    anonymous = client_for(app)
    stranger = client_for(app)
    login(stranger, make_user(Role.DONOR))
    for client in (anonymous, stranger):
        assert client.get(f"/me/claims/{own.public_id}/photo").status_code == 404
        assert client.get(f"/claims/manage/{guest['token'][:-2]}xx/photo").status_code == 404
        assert client.get(f"/claims/manage/{guest_claim.public_id}/photo").status_code == 404
        for path in (f"/static/{name}", f"/static/uploads/{name}", f"/uploads/{name}", f"/instance/uploads/{name}"):
            assert client.get(path).status_code == 404, path
    assert anonymous.get(f"/staff/claims/{own.id}/photo").status_code == 302
    assert stranger.get(f"/staff/claims/{own.id}/photo").status_code == 403
    other_caseworker = client_for(app)
    login(other_caseworker, make_user(Role.CASEWORKER))
    assert other_caseworker.get(f"/staff/claims/{own.id}/photo").status_code == 403

    caseworker = client_for(app)
    login(caseworker, guest["caseworker"])
    supervisor = client_for(app)
    login(supervisor, make_user(Role.SUPERVISOR))
    for client in (caseworker, supervisor):
        for c in (own, guest_claim):
            response = client.get(f"/staff/claims/{c.id}/photo")
            assert response.status_code == 200 and response.mimetype == "image/jpeg"
            assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_replaced_photo_is_removed_from_disk(app, guest):
    client = client_for(app)
    assert upload(client, guest["token"], jpeg_with_exif()).status_code == 302
    first = stored_path(app, guest["claim"].id)
    assert upload(client, guest["token"], noisy_jpeg(), note="换一张更清楚的").status_code == 302
    second = stored_path(app, guest["claim"].id)
    assert second != first and second.is_file()
    assert not first.exists()
