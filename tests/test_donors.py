"""Donor accounts, the donor's own claims page, and the e-mail with the private link."""

import logging

from core.models import Role
from core.outbox import Notification, NotificationStatus, deliver_pending
from donors.models import DonorProfile
from tests.factories import claim, login, make_user, make_wish
from wishes.models import Claim


def test_guest_claim_queues_one_email_with_the_manage_link(client, db, caplog):
    wish = make_wish()
    response = client.post(
        f"/wishes/{wish.public_id}/claim",
        data={"name": "周先生", "contact": "zhou@example.org", "display_name": "", "mode": "gift"},
    )
    assert response.status_code == 302
    manage_path = response.headers["Location"].split("?")[0]
    note = db.session.query(Notification).one()
    assert note.recipient == "zhou@example.org" and note.status == NotificationStatus.PENDING
    assert manage_path in note.body and wish.child.alias in note.body
    with caplog.at_level(logging.INFO):
        assert deliver_pending() == 1
    db.session.refresh(note)
    assert note.status == NotificationStatus.SENT and note.attempts == 1
    assert deliver_pending() == 0


def test_phone_contact_queues_no_email(client, db):
    wish = make_wish()
    client.post(f"/wishes/{wish.public_id}/claim", data={"name": "李女士", "contact": "13800001234", "mode": "gift"})
    assert db.session.query(Claim).count() == 1
    assert db.session.query(Notification).count() == 0


def test_register_then_claims_are_kept_in_the_account(client, db):
    response = client.post(
        "/register",
        data={
            "display_name": "无锡某科技",
            "email": "csr@company.example.org",
            "kind": "organisation",
            "public_name": "无锡某科技有限公司",
        },
    )
    assert response.status_code == 302
    # The account is made when the address's owner follows the e-mailed link.
    link = db.session.query(Notification).one().body.split("http://localhost", 1)[1].split()[0]
    assert client.get(link).status_code == 200
    assert client.post(link, data={"password": "long-enough-pw", "confirm": "long-enough-pw"}).status_code == 302
    profile = db.session.query(DonorProfile).one()
    assert profile.kind == "organisation"
    wish = make_wish()
    client.post(f"/wishes/{wish.public_id}/claim", data={"name": "王经理", "contact": "13800001234", "mode": "gift"})
    page = client.get("/me/claims")
    assert wish.title.encode() in page.data
    c = db.session.query(Claim).one()
    assert c.donor_id == profile.user_id
    # The account page manages the claim without the e-mailed token.
    manage = client.get(f"/me/claims/{c.public_id}")
    assert manage.status_code == 200
    client.post(f"/me/claims/{c.public_id}/cancel", data={"reason": "改期"})
    db.session.refresh(c)
    assert c.status == "cancelled"


def test_a_guest_claim_can_be_kept_in_an_account_later(client, db, request_ctx):
    wish = make_wish()
    c, token = claim(wish)
    donor = make_user(Role.DONOR)
    login(client, donor)
    client.post(f"/claims/manage/{token}/attach")
    db.session.refresh(c)
    assert c.donor_id == donor.id
    assert wish.title.encode() in client.get("/me/claims").data


def test_another_donor_cannot_open_my_claim_by_id(client, db):
    wish = make_wish()
    owner = make_user(Role.DONOR)
    login(client, owner)
    client.post(f"/wishes/{wish.public_id}/claim", data={"name": "甲", "contact": "13800001234", "mode": "gift"})
    c = db.session.query(Claim).one()
    client.post("/logout")
    login(client, make_user(Role.DONOR))
    assert client.get(f"/me/claims/{c.public_id}").status_code == 404
    assert client.post(f"/me/claims/{c.public_id}/cancel").status_code == 404
