"""The per-process summary behind the list's counts and district menu (wishes/catalogue.py):
computed once per catalogue version, never shown after the catalogue has changed."""

import re
from urllib.parse import quote

import pytest

from core import cache
from core.models import Role
from tests.factories import claim, make_child, make_user, make_wish
from wishes import catalogue, services


@pytest.fixture(autouse=True)
def _empty_store():
    cache.store.clear()
    yield
    cache.store.clear()


def _tab_counts(html: str) -> dict[str, int]:
    return {
        status: int(n)
        for status, n in re.findall(r'href="/wishes\?status=(\w+)"[^>]*>[^<]*<span class="count">(\d+)</span>', html)
    }


def test_one_summary_while_the_version_stands(db):
    make_wish()
    first = catalogue.summary()
    assert first.version == cache.current_version()
    assert catalogue.summary() is first


def test_a_claim_gives_a_new_summary(db):
    wish, _other = make_wish(), make_wish()
    before = catalogue.summary()
    assert before.counts == {"published": 2}
    claim(wish)
    after = catalogue.summary()
    assert after.version == cache.current_version() != before.version
    assert after.counts == {"published": 1, "claimed": 1}


def test_the_tab_counts_and_the_total_change_at_once_after_a_claim(client, db):
    wish, _other = make_wish(), make_wish()
    page = client.get("/").text
    assert _tab_counts(page) == {"published": 2, "claimed": 0, "fulfilled": 0}
    assert client.get("/api/v1/wishes").get_json()["total"] == 2

    response = client.post(f"/api/v1/wishes/{wish.public_id}/claim", json={"name": "周先生", "contact": "13800001234"})
    assert response.status_code == 201

    assert _tab_counts(client.get("/").text) == {"published": 1, "claimed": 1, "fulfilled": 0}
    assert client.get("/api/v1/wishes").get_json()["total"] == 1
    assert client.get("/api/v1/wishes?status=claimed").get_json()["total"] == 1


def test_the_counts_are_fresh_without_the_response_cache(app, client, db):
    app.config["RESPONSE_CACHE"] = False
    try:
        wish = make_wish()
        assert _tab_counts(client.get("/").text)["published"] == 1
        claim(wish)
        assert _tab_counts(client.get("/").text) == {"published": 0, "claimed": 1, "fulfilled": 0}
    finally:
        app.config["RESPONSE_CACHE"] = True


def test_a_new_place_is_offered_and_found_at_once(client, db):
    make_wish()
    assert "崂山区" not in client.get("/").text
    supervisor = make_user(Role.SUPERVISOR)
    child = make_child(district="崂山区", street="王哥庄街道")
    wish = make_wish(child=child, supervisor=supervisor)
    assert '<option value="崂山区王哥庄街道"' in client.get("/").text
    body = client.get("/api/v1/wishes?district=" + quote("崂山区王哥庄街道")).get_json()
    assert [item["id"] for item in body["items"]] == [wish.public_id] and body["total"] == 1


def test_a_withdrawn_wish_leaves_the_menu_and_the_counts(client, db):
    child = make_child(district="崂山区", street="王哥庄街道")
    wish = make_wish(child=child)
    assert '<option value="崂山区王哥庄街道"' in client.get("/").text
    services.withdraw_wish(wish.created_by, wish, "孩子已搬家")
    db.session.commit()
    page = client.get("/").text
    assert '<option value="崂山区王哥庄街道"' not in page
    assert _tab_counts(page)["published"] == 0
    assert client.get("/api/v1/wishes?district=" + quote("崂山区")).get_json() == {
        "items": [],
        "next": None,
        "total": 0,
    }


def test_a_change_committed_by_another_worker_reaches_the_summary_once_committed(db):
    """Another process's commit (its own connection, as another gunicorn worker would) is
    counted here once it commits, and not before."""
    import time

    from sqlalchemy import create_engine, text

    wish, _other = make_wish(), make_wish()
    before = catalogue.summary()
    assert before.counts == {"published": 2}
    db.session.rollback()

    other = create_engine(db.engine.url)
    try:
        with other.connect() as conn:
            conn.execute(text("UPDATE wishes SET status = 'withdrawn' WHERE id = :id"), {"id": wish.id})
            bump = cache._BUMP_AND_NOTIFY if conn.dialect.name == "postgresql" else cache._BUMP
            version = conn.execute(bump, {"start": 0}).first()[0]
            assert catalogue.summary().counts == {"published": 2}, "an uncommitted change must not be counted"
            db.session.rollback()
            conn.commit()

        deadline = time.monotonic() + 5
        while catalogue.summary().counts != {"published": 1} and time.monotonic() < deadline:
            db.session.rollback()
            time.sleep(0.01)
        after = catalogue.summary()
        assert after.counts == {"published": 1}
        assert after.version == version
    finally:
        other.dispose()
