"""The response cache of the public lists (core/cache.py): fast, but never a stale page."""

import os
import time

import pytest

from core import cache
from core.models import Role
from tests.factories import login, make_child, make_user, make_wish
from wishes import services
from wishes.models import WishStatus


@pytest.fixture(autouse=True)
def _empty_store():
    cache.store.clear()
    yield
    cache.store.clear()


def _claim(client, wish):
    response = client.post(f"/api/v1/wishes/{wish.public_id}/claim", json={"name": "周先生", "contact": "13800001234"})
    assert response.status_code == 201, response.data[:300]


def test_a_claim_changes_the_list_page_at_once(client, db):
    first, second = make_wish(title="一个新书包"), make_wish(title="一双运动鞋")
    page = client.get("/")
    assert page.status_code == 200 and page.headers.get("ETag")
    assert first.public_id in page.text and second.public_id in page.text
    again = client.get("/")
    assert again.headers["ETag"] == page.headers["ETag"] and again.data == page.data

    _claim(client, first)

    after = client.get("/")
    assert after.status_code == 200 and after.headers["ETag"] != page.headers["ETag"]
    assert first.public_id not in after.text and second.public_id in after.text
    assert first.public_id in client.get("/?status=claimed").text


def test_a_claim_changes_the_list_api_at_once(client, db):
    first, second = make_wish(), make_wish()
    response = client.get("/api/v1/wishes")
    before = response.get_json()
    assert {i["id"] for i in before["items"]} == {first.public_id, second.public_id}
    cached = client.get("/api/v1/wishes")
    assert cached.headers["ETag"] == response.headers["ETag"] and cached.get_json() == before

    _claim(client, second)

    after = client.get("/api/v1/wishes").get_json()
    assert [i["id"] for i in after["items"]] == [first.public_id] and after["total"] == 1


def test_publishing_and_releasing_show_at_once(client, db):
    caseworker = make_user(Role.CASEWORKER)
    supervisor = make_user(Role.SUPERVISOR)
    child = make_child(caseworker)
    shown = make_wish(child=child)
    assert client.get("/api/v1/wishes").get_json()["total"] == 1

    pending = make_wish(WishStatus.SUBMITTED, child=child)
    services.approve_wish(supervisor, pending)
    db.session.commit()
    assert client.get("/api/v1/wishes").get_json()["total"] == 2

    claim, _token = services.claim_wish(shown, services.ClaimInput(name="周先生", contact="13800001234"))
    db.session.commit()
    assert client.get("/api/v1/wishes").get_json()["total"] == 1
    services.cancel_claim(claim, "donor")
    db.session.commit()
    assert client.get("/api/v1/wishes").get_json()["total"] == 2


def test_editing_a_child_changes_the_cards_at_once(client, db):
    caseworker = make_user(Role.CASEWORKER)
    child = make_child(caseworker, alias="小雨")
    make_wish(child=child)
    assert client.get("/api/v1/wishes").get_json()["items"][0]["child"]["alias"] == "小雨"
    child.alias = "小星"
    db.session.commit()
    assert client.get("/api/v1/wishes").get_json()["items"][0]["child"]["alias"] == "小星"


def test_a_rolled_back_move_keeps_the_version(db):
    make_wish()
    version = cache.current_version()
    wish = make_wish()
    assert cache.current_version() > version
    version = cache.current_version()
    services.withdraw_wish(wish.created_by, wish, "孩子已搬家")
    db.session.rollback()
    assert cache.current_version() == version


def test_conditional_get_answers_304_until_the_list_changes(client, db):
    wish = make_wish()
    for path in ("/", "/api/v1/wishes"):
        etag = client.get(path).headers["ETag"]
        not_modified = client.get(path, headers={"If-None-Match": etag})
        assert not_modified.status_code == 304 and not_modified.data == b""
        assert not_modified.headers["ETag"] == etag
        assert "no-cache" in not_modified.headers["Cache-Control"]
    _claim(client, wish)
    for path in ("/", "/api/v1/wishes"):
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 200


def _fresh_get(app, client, path, **kwargs):
    """A request in its own app context, as under a real server (g holds the user and the locale)."""
    with app.app_context():
        return client.get(path, **kwargs)


def test_signed_in_visitors_are_never_served_or_stored(client, app, db):
    make_wish()
    anonymous = _fresh_get(app, client, "/")
    assert "/me/claims" not in anonymous.text and anonymous.headers.get("ETag")

    donor = make_user(Role.DONOR)
    member = app.test_client()
    with app.app_context():
        login(member, donor)
    page = _fresh_get(app, member, "/")
    assert page.status_code == 200 and "/me/claims" in page.text
    assert "ETag" not in page.headers
    assert "/me/claims" not in _fresh_get(app, client, "/").text


def test_responses_that_set_cookies_or_carry_flashes_are_not_cached(client, db):
    make_wish()
    switched = client.get("/?lang=en")
    assert "lang=" in switched.headers.get("Set-Cookie", "") and "ETag" not in switched.headers
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "flash-message-for-the-test")]
    flashed = client.get("/")
    assert "flash-message-for-the-test" in flashed.text and "ETag" not in flashed.headers
    assert "flash-message-for-the-test" not in client.get("/").text


def test_the_locale_is_part_of_the_key(client, app, db):
    make_wish()
    chinese = _fresh_get(app, client, "/", headers={"Accept-Language": "zh-CN"})
    english = _fresh_get(app, client, "/", headers={"Accept-Language": "en"})
    assert chinese.headers["ETag"] != english.headers["ETag"]
    assert chinese.data != english.data
    assert "Accept-Language" in english.headers["Vary"]
    assert _fresh_get(app, client, "/", headers={"Accept-Language": "en"}).headers["ETag"] == english.headers["ETag"]


def _wait_for(predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="LISTEN/NOTIFY is PostgreSQL's")
def test_another_workers_commit_reaches_this_worker_without_a_read(db):
    """A change committed elsewhere (another gunicorn worker) is known here once it commits, not before."""
    import psycopg

    make_wish()
    listener = cache._listener(db.engine)
    assert _wait_for(lambda: listener.ready)
    before = cache.current_version()
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as other:
        version = other.execute(cache._BUMP.text.replace(":start", "%(start)s"), {"start": 0}).fetchone()[0]
        other.execute(f"SELECT pg_notify('{cache._CHANNEL}', %s)", (str(version),))
        time.sleep(0.2)
        assert cache.current_version() == before, "an uncommitted change must not be seen"
        other.commit()
    assert _wait_for(lambda: cache.current_version() == version)


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="LISTEN/NOTIFY is PostgreSQL's")
def test_a_commit_here_notifies_the_other_workers_with_its_version(client, db):
    """The bump and its NOTIFY travel in one statement; the other workers hear of it at the commit."""
    import psycopg

    wish = make_wish()
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as other:
        other.execute(f"LISTEN {cache._CHANNEL}")
        _claim(client, wish)
        notes = list(other.notifies(timeout=5, stop_after=1))
        stored = other.execute(cache._READ).fetchone()[0]
    assert [int(note.payload) for note in notes] == [stored]
