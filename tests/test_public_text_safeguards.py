"""What keeps a child's personal data off public pages, over HTTP (issue 9, gaps 2, 3 and 9).

- A child's public fields (alias, district, street) are checked by the personal-data
  detector when the file is saved; nothing is written when they carry personal data.
- A wish whose public texts are flagged is approved only with an explicit
  acknowledgement and a reason; the audit row keeps the kinds and the reason, not the
  values found.
- Four eyes: a supervisor who edited a draft may not vet it; another supervisor may.
- Public names (claims, donations, couples) lose invisible format and bidi characters.
"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.clock import local_today
from core.models import AuditLog, Role
from funds.models import Campaign, Donation
from tests.factories import child_form, login, make_child, make_fund, make_user, make_wish
from tests.helpers import client_for
from tests.payment_helpers import configured
from wishes.models import Child, Claim, Place, WishStatus


def _child_form(**overrides):
    """The shared factory's form for a child named 张晓燕, the name the tests try to slip into public."""
    return child_form(**{"legal_name": "张晓燕", "alias": "小燕", **overrides})


def _children(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Child))


# --- gap 2: public child fields --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("alias", "13912345678"),
        ("alias", "１３９１２３４５６７８"),
        ("alias", "一三九一二三四五六七八"),
        ("alias", "张\u200b晓燕"),
    ],
)
def test_registering_a_child_with_personal_data_in_a_public_field_is_refused(client, db, field, value):
    login(client, make_user(Role.CASEWORKER))
    response = client.post("/staff/children/new", data=_child_form(**{field: value}))
    assert response.status_code == 422
    assert "个人信息" in response.text or "personal data" in response.text
    assert _children(db) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("street", "幸福路8号3单元501室"), ("street", "幸福路八号三单元"), ("district", "崇安寺实验小学")],
)
def test_a_place_carrying_personal_data_cannot_join_the_list(app, db, field, value):
    supervisor = client_for(app)
    login(supervisor, make_user(Role.SUPERVISOR))
    form = {"district": "梁溪区", "street": "崇安寺街道", "community": "", field: value}
    response = supervisor.post("/staff/places", data=form)
    assert response.status_code == 422
    assert "个人信息" in response.text
    assert db.session.scalar(select(func.count()).select_from(Place)) == 0


def test_editing_a_child_to_put_an_address_in_the_street_is_refused(client, db):
    caseworker = make_user(Role.CASEWORKER)
    child = make_child(caseworker)
    login(client, caseworker)
    response = client.post(
        f"/staff/children/{child.id}/edit",
        data=_child_form(case_no=child.case_no, alias="小星", street="幸福路8号3单元501室"),
    )
    assert response.status_code == 422
    db.session.expire_all()
    child = db.session.get(Child, child.id)
    assert child.street == "江海街道" and child.alias == "小明星"


def test_ordinary_public_fields_still_save(client, db):
    login(client, make_user(Role.CASEWORKER))
    response = client.post("/staff/children/new", data=_child_form(alias="小雨点", street="崇安寺街道"))
    assert response.status_code == 302
    assert _children(db) == 1


# --- gap 3: flagged texts need an acknowledged reason ------------------------------------------


def _leaky_wish():
    child = make_child(make_user(Role.CASEWORKER), legal_name="王小雨", alias="雨儿")
    story = "王\u200b小雨很喜欢画画，有事请打１３９１２３４５６７８，或一三九一二三四五六七八联系。"
    return make_wish(WishStatus.SUBMITTED, child=child, story=story)


def test_a_phone_in_full_width_digits_or_numerals_and_a_name_with_a_zero_width_space_are_flagged(client, db):
    wish = _leaky_wish()
    login(client, make_user(Role.SUPERVISOR))
    review = client.get(f"/staff/vetting/{wish.id}").text
    assert "13912345678" in review and "王小雨" in review
    assert 'name="acknowledge"' in review and 'name="acknowledged_reason"' in review


def test_a_flagged_wish_is_not_approved_without_an_acknowledged_reason(client, db):
    wish = _leaky_wish()
    login(client, make_user(Role.SUPERVISOR))
    for form in (
        {"note": "看过了"},
        {"acknowledge": "1", "acknowledged_reason": ""},
        {"acknowledged_reason": "号码是基金会热线"},  # a reason without the box ticked
    ):
        response = client.post(f"/staff/wishes/{wish.id}/approve", data=form)
        assert response.status_code == 422
        db.session.refresh(wish)
        assert wish.status == WishStatus.SUBMITTED
    assert wish.public_id not in client.get("/").text


def test_an_acknowledged_approval_publishes_and_audits_the_kinds_and_reason_but_not_the_values(client, db):
    wish = _leaky_wish()
    login(client, make_user(Role.SUPERVISOR))
    response = client.post(
        f"/staff/wishes/{wish.id}/approve",
        data={"acknowledge": "1", "acknowledged_reason": "监护人同意公开此号码，已电话核实"},
    )
    assert response.status_code == 302
    db.session.refresh(wish)
    assert wish.status == WishStatus.PUBLISHED
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "wish.approved", AuditLog.object_id == wish.id))
    acknowledged = row.after["acknowledged"]
    assert acknowledged == {"kinds": ["name", "phone"], "reason": "监护人同意公开此号码，已电话核实"}
    assert "13912345678" not in str(row.after) and "小雨" not in str(row.after)


def test_a_clean_wish_is_still_approved_in_one_step(client, db):
    wish = make_wish(WishStatus.SUBMITTED)
    login(client, make_user(Role.SUPERVISOR))
    assert 'name="acknowledge"' not in client.get(f"/staff/vetting/{wish.id}").text
    assert client.post(f"/staff/wishes/{wish.id}/approve", data={"note": ""}).status_code == 302
    db.session.refresh(wish)
    assert wish.status == WishStatus.PUBLISHED


# --- gap 9: four eyes --------------------------------------------------------------------------


def _wish_form(wish, **overrides):
    data = {
        "title": wish.title,
        "story": wish.story,
        "category": wish.category,
        "amount": "300",
        "needed_by": str(local_today() + timedelta(days=30)),
        "modes": "gift",
        "fund": "",
    }
    data.update(overrides)
    return data


def test_a_supervisor_who_edited_a_draft_may_not_vet_it_but_another_may(app, client, db):
    caseworker = make_user(Role.CASEWORKER)
    wish = make_wish(WishStatus.DRAFT, child=make_child(caseworker), amount_fen=3000)
    editor = make_user(Role.SUPERVISOR)
    login(client, editor)
    assert client.post(f"/staff/wishes/{wish.id}/edit", data=_wish_form(wish)).status_code == 302
    db.session.refresh(wish)
    assert wish.amount_fen == 30000

    author = app.test_client()
    login(author, caseworker)
    assert author.post(f"/staff/wishes/{wish.id}/submit").status_code == 302

    review = client.get(f"/staff/vetting/{wish.id}").text
    assert f"/staff/wishes/{wish.id}/approve" not in review
    response = client.post(f"/staff/wishes/{wish.id}/approve", data={"note": ""})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/vetting/{wish.id}")
    db.session.refresh(wish)
    assert wish.status == WishStatus.SUBMITTED
    assert wish.public_id not in client.get("/").text
    # Returning it is vetting too.
    client.post(f"/staff/wishes/{wish.id}/reject", data={"reason": "金额不对"})
    db.session.refresh(wish)
    assert wish.status == WishStatus.SUBMITTED

    other = app.test_client()
    login(other, make_user(Role.SUPERVISOR))
    assert other.post(f"/staff/wishes/{wish.id}/approve", data={"note": ""}).status_code == 302
    db.session.refresh(wish)
    assert wish.status == WishStatus.PUBLISHED and wish.vetted_by_id != editor.id


# --- display names -----------------------------------------------------------------------------


def test_a_claims_public_name_loses_format_and_bidi_characters(client, db):
    wish = make_wish()
    response = client.post(
        f"/wishes/{wish.public_id}/claim",
        data={
            "name": "周先生",
            "contact": "zhou@example.org",
            "display_name": "\u202e周\u200b先生\u2066",
            "mode": "gift",
        },
    )
    assert response.status_code == 302
    claim = db.session.scalar(select(Claim).where(Claim.wish_id == wish.id))
    assert claim.display_name == "周先生"


def test_a_couples_names_lose_format_and_bidi_characters(app, client, db):
    fund = make_fund()
    campaign = Campaign(slug="registry", title="婚姻登记处爱心角", kind="couple", fund_id=fund.id, presets=[5200])
    db.session.add(campaign)
    db.session.commit()
    with configured(app, STRIPE_SECRET_KEY="", STRIPE_API_BASE=""):
        response = client.post(
            f"/donate/campaign/{campaign.slug}",
            data={
                "preset": "5200",
                "name": "张\u200d三",
                "partner_name": "\u202e四李",
                "display_name": "\ufeff三和四\u2069",
                "contact": "13800001111",
                "channel": "wechat_pay",
            },
        )
    assert response.status_code == 303
    donation = db.session.scalar(select(Donation))
    assert (donation.name, donation.partner_name, donation.display_name) == ("张三", "四李", "三和四")
