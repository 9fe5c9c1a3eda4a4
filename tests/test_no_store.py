"""Pages with children's files, claims or donations are never kept in a browser's or a proxy's cache."""

from core.models import Role
from tests.factories import login, make_child, make_user, make_wish
from tests.helpers import client_for, fast_passwords  # noqa: F401 (an autouse fixture)
from wishes import services
from wishes.models import WishStatus


def no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


def test_staff_pages_and_a_childs_file_are_not_stored(app, db):
    caseworker = make_user(Role.CASEWORKER)
    child = make_child(caseworker=caseworker)
    client = client_for(app)
    login(client, caseworker)
    for url in ("/staff/", "/staff/children", f"/staff/children/{child.id}", "/staff/claims"):
        response = client.get(url)
        assert response.status_code == 200 and no_store(response), url


def test_a_donors_own_pages_and_the_manage_page_are_not_stored(app, db):
    wish = make_wish(WishStatus.PUBLISHED, modes="gift")
    _claim, token = services.claim_wish(wish, services.ClaimInput(name="王女士", contact="13800001111"))
    db.session.commit()
    anonymous = client_for(app)
    manage = anonymous.get(f"/claims/manage/{token}")
    assert manage.status_code == 200 and no_store(manage)
    donor = make_user(Role.DONOR)
    signed_in = client_for(app)
    login(signed_in, donor)
    for url in ("/me/claims", "/me/donations", "/"):
        response = signed_in.get(url)
        assert response.status_code == 200 and no_store(response), url


def test_public_pages_for_visitors_may_be_cached(app, db):
    make_wish(WishStatus.PUBLISHED, modes="gift")
    response = client_for(app).get("/")
    assert response.status_code == 200 and not no_store(response)
