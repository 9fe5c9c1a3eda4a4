"""After a donor reports the delivery the page says so and stops offering to report or cancel; once the
caseworker confirms, it shows their thank-you and, when they chose to share it, a photo of the gift."""

import io

from PIL import Image

from core.models import Role
from tests.factories import claim, login, make_child, make_user, make_wish
from tests.helpers import client_for, fast_passwords  # noqa: F401 (an autouse fixture)
from wishes import services


def _jpeg() -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(data, "JPEG")
    data.seek(0)
    return data


def _claimed(caseworker):
    wish = make_wish(child=make_child(caseworker), title="一个篮球")
    the_claim, token = claim(wish)
    return the_claim, token


def test_a_reported_delivery_reads_delivered_and_offers_nothing_more(client, db):
    the_claim, token = _claimed(make_user(Role.CASEWORKER))
    before = client.get(f"/claims/manage/{token}").get_data(as_text=True)
    assert "取消我的认领" in before

    response = client.post(f"/claims/manage/{token}/delivery", data={"note": "已送到未保站"})
    assert response.status_code == 302

    page = client.get(f"/claims/manage/{token}").get_data(as_text=True)
    assert "已送达，等待社工确认" in page
    assert 'action="/claims/manage/' + token + '/cancel"' not in page
    assert 'action="/claims/manage/' + token + '/delivery"' not in page


def test_the_caseworkers_thanks_and_shared_photo_reach_the_donor(app, db):
    caseworker = make_user(Role.CASEWORKER)
    the_claim, token = _claimed(caseworker)
    staff = client_for(app)
    login(staff, caseworker)

    refused = staff.post(
        f"/staff/claims/{the_claim.id}/confirm",
        data={"note": "孩子收到篮球非常开心，谢谢您！", "photo": (_jpeg(), "gift.jpg")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "没有儿童的脸" in refused.get_data(as_text=True)
    db.session.refresh(the_claim)
    assert the_claim.status == "active"

    staff.post(
        f"/staff/claims/{the_claim.id}/confirm",
        data={"note": "孩子收到篮球非常开心，谢谢您！", "photo": (_jpeg(), "gift.jpg"), "photo_ok": "1"},
        content_type="multipart/form-data",
    )

    donor = client_for(app)
    page = donor.get(f"/claims/manage/{token}").get_data(as_text=True)
    assert "心愿已圆梦" in page and "孩子收到篮球非常开心，谢谢您！" in page
    photo = donor.get(f"/claims/manage/{token}/thanks-photo")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    # Nobody else can read the photo by guessing.
    assert client_for(app).get("/claims/manage/not-a-token/thanks-photo").status_code == 404


def test_a_thank_you_naming_the_child_is_refused(app, db):
    caseworker = make_user(Role.CASEWORKER)
    child = make_child(caseworker, legal_name="王小雨", alias="雨儿")
    wish = make_wish(child=child)
    the_claim, _token = claim(wish)
    staff = client_for(app)
    login(staff, caseworker)

    page = staff.post(
        f"/staff/claims/{the_claim.id}/confirm", data={"note": "王小雨收到了，谢谢！"}, follow_redirects=True
    ).get_data(as_text=True)

    assert "个人信息" in page
    db.session.refresh(the_claim)
    assert the_claim.status == "active" and the_claim.thanks_note is None
    assert services.get_claim(the_claim.id).wish.status == "claimed"
