"""The fund administrator's payment review queue: events the webhook could not book, looked at and resolved."""

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from core.clock import utcnow
from core.errors import InvalidTransition, ValidationError
from core.models import AuditLog, Role
from payments import reviews
from payments.models import PaymentReview
from tests.factories import login, make_user
from tests.helpers import client_for, fast_passwords, snapshot  # noqa: F401 (an autouse fixture)
from tests.payment_helpers import WEBHOOK_SECRET, configured, deliver, pending_donation, session_event

QUEUE = "/staff/payments/reviews"


@pytest.fixture(autouse=True)
def webhook_secret(app):
    with configured(app, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_SECRET_KEY=""):
        yield


@pytest.fixture
def staff(app, db):
    admin = make_user(Role.FUND_ADMIN, name="基金管理员甲")
    client = client_for(app)
    login(client, admin)
    return client, admin


class Stranger:
    """A donation this site never created."""

    public_id = "no-such-donation"
    amount_fen = 5000


def deliver_for_review(app, event):
    assert deliver(client_for(app), event) == "review"


def unknown_donation_review(app, db) -> PaymentReview:
    event = session_event(Stranger(), event_id="evt_unknown_0001")
    event["data"]["object"]["customer_details"] = {
        "email": "payer@example.org",
        "name": "付款人",
        "phone": "+8613811112222",
    }
    deliver_for_review(app, event)
    return db.session.scalar(select(PaymentReview).where(PaymentReview.event_id == "evt_unknown_0001"))


def open_rows(page: str) -> int:
    return page.count("data-review=")


def test_an_unknown_donation_event_is_queued_and_shown_without_contact_details(app, db, staff):
    client, _admin = staff
    review = unknown_donation_review(app, db)
    assert review is not None and review.resolved_at is None

    page = client.get(f"{QUEUE}?lang=en").get_data(as_text=True)
    assert "evt_unknown_0001" in page and "checkout.session.completed" in page and "no-such-donation" in page
    assert "no donation for checkout.session.completed" in page and open_rows(page) == 1

    response = client.get(f"{QUEUE}/{review.id}?lang=en")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "evt_unknown_0001" in page and "Mark as resolved" in page
    assert "&#34;client_reference_id&#34;: &#34;no-such-donation&#34;" in page, "the payload, pretty-printed"
    assert "payer@example.org" not in page and "13811112222" not in page and "付款人" not in page
    assert "[hidden]" in page

    dashboard = client.get("/staff/funds?lang=en").get_data(as_text=True)
    assert 'data-open-reviews="1"' in dashboard and QUEUE in dashboard


def test_a_mismatch_for_a_known_donation_links_to_its_funds_donations(app, db, staff):
    client, _admin = staff
    donation = pending_donation()
    deliver_for_review(app, session_event(donation, amount=1))
    page = client.get(f"{QUEUE}?lang=en").get_data(as_text=True)
    assert donation.public_id in page and "amount_total 1 does not match" in page
    assert f"/staff/funds/{donation.fund.slug}/donations" in page


def test_resolve_with_a_note_moves_it_to_the_resolved_tab(app, db, staff):
    client, admin = staff
    review = unknown_donation_review(app, db)
    note = "Stripe 后台已核实：测试付款，已原路退款。"
    response = client.post(f"{QUEUE}/{review.id}", data={"note": note})
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == QUEUE

    db.session.refresh(review)
    assert review.resolved_at is not None and review.resolved_by_id == admin.id
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "payment_review.resolved"))
    assert row.actor_id == admin.id and row.object_id == review.id and row.note == note

    open_page = client.get(f"{QUEUE}?lang=en").get_data(as_text=True)
    assert "evt_unknown_0001" not in open_page and open_rows(open_page) == 0 and "Nothing to review." in open_page
    resolved_page = client.get(f"{QUEUE}?state=resolved&lang=en").get_data(as_text=True)
    assert "evt_unknown_0001" in resolved_page and note in resolved_page and "基金管理员甲" in resolved_page
    detail = client.get(f"{QUEUE}/{review.id}?lang=en").get_data(as_text=True)
    assert note in detail and "Mark as resolved" not in detail
    assert 'data-open-reviews="0"' in client.get("/staff/funds").get_data(as_text=True)


@pytest.mark.parametrize("note", ["", " ", "x", "长" * 501])
def test_a_bad_note_is_a_form_error_and_nothing_is_written(app, db, staff, note):
    client, _admin = staff
    review = unknown_donation_review(app, db)
    before = snapshot()
    response = client.post(f"{QUEUE}/{review.id}?lang=en", data={"note": note})
    assert response.status_code == 422
    assert "Write between 2 and 500 characters." in response.get_data(as_text=True)
    assert snapshot() == before
    db.session.refresh(review)
    assert review.resolved_at is None


def test_resolving_twice_is_refused(app, db, staff):
    client, admin = staff
    review = unknown_donation_review(app, db)
    assert client.post(f"{QUEUE}/{review.id}", data={"note": "已核实"}).status_code == 302
    before = snapshot()
    response = client.post(f"{QUEUE}/{review.id}?lang=en", data={"note": "再核实一次"})
    assert response.status_code == 422
    assert "This review is already resolved." in response.get_data(as_text=True)
    assert snapshot() == before

    db.session.refresh(review)
    with pytest.raises(InvalidTransition):
        reviews.resolve_review(admin, review, "再核实一次")
    db.session.rollback()
    with pytest.raises(ValidationError):
        reviews.resolve_review(admin, review, "x")
    db.session.rollback()
    rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "payment_review.resolved")).all()
    assert len(rows) == 1 and rows[0].note == "已核实"


def test_a_stale_copy_of_a_review_cannot_be_resolved_again(app, db, staff):
    _client, admin = staff
    review = unknown_donation_review(app, db)
    other = make_user(Role.FUND_ADMIN)
    # Someone else resolves it after this copy was read: the copy still looks open.
    db.session.execute(
        update(PaymentReview).where(PaymentReview.id == review.id).values(resolved_at=utcnow(), resolved_by_id=other.id)
    )
    db.session.commit()
    set_committed_value(review, "resolved_at", None)
    set_committed_value(review, "resolved_by_id", None)
    with pytest.raises(InvalidTransition):
        reviews.resolve_review(admin, review, "后处理")
    db.session.rollback()
    db.session.refresh(review)
    assert review.resolved_by_id == other.id
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "payment_review.resolved")) is None


@pytest.mark.parametrize("role", [Role.DONOR, Role.CASEWORKER, Role.SUPERVISOR, Role.HOST])
def test_other_roles_get_403_and_change_nothing(app, db, role):
    review = unknown_donation_review(app, db)
    client = client_for(app)
    login(client, make_user(role))
    before = snapshot()
    assert client.get(QUEUE).status_code == 403
    assert client.get(f"{QUEUE}?state=resolved").status_code == 403
    assert client.get(f"{QUEUE}/{review.id}").status_code == 403
    assert client.post(f"{QUEUE}/{review.id}", data={"note": "我来处理"}).status_code == 403
    assert snapshot() == before


def test_anonymous_visitors_are_sent_to_sign_in(app, db):
    review = unknown_donation_review(app, db)
    client = client_for(app)
    before = snapshot()
    for method, url in [("GET", QUEUE), ("GET", f"{QUEUE}/{review.id}"), ("POST", f"{QUEUE}/{review.id}")]:
        response = client.open(url, method=method, data={"note": "我来处理"})
        assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login", url
    assert snapshot() == before


def test_an_unknown_review_is_404(staff):
    client, _admin = staff
    assert client.get(f"{QUEUE}/999999").status_code == 404
