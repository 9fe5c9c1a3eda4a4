"""A page's frame and the list's head are rendered once per content (core/fragments.py):
what a visitor sees still follows who they are, their language, the URL and every claim."""

import re

import pytest
from flask import render_template_string

from core import cache
from core.fragments import FragmentCache
from core.models import Role
from tests.factories import child_data, claim, login, make_child, make_user, make_wish
from wishes import services


@pytest.fixture(autouse=True)
def _no_response_cache(app):
    # Every request renders the page, as right after a claim.
    app.config["RESPONSE_CACHE"] = False
    cache.store.clear()
    yield
    app.config["RESPONSE_CACHE"] = True


def _topbar(html: str) -> str:
    return re.search(r'<header class="topbar">.*?</header>', html, re.S).group(0)


def _hero_counts(html: str) -> tuple[int, int]:
    found = re.search(r'class="hero-counts"><span><strong>(\d+)</strong>.*?<strong>(\d+)</strong>', html, re.S)
    return int(found.group(1)), int(found.group(2))


def test_a_signed_in_bar_never_reaches_an_anonymous_visitor_nor_the_reverse(app, db):
    make_wish()
    donor = make_user(Role.DONOR)
    anonymous, signed_in = app.test_client(), app.test_client()
    first = _topbar(anonymous.get("/").text)
    assert "Sign out" not in first and "退出" not in first
    login(signed_in, donor)
    mine = _topbar(signed_in.get("/").text)
    assert 'name="csrf_token"' in mine and "/me/claims" in mine
    assert _topbar(anonymous.get("/").text) == first
    # Another signed-in visitor gets a bar with a token of their own session.
    other = app.test_client()
    login(other, make_user(Role.DONOR))
    token = re.compile(r'name="csrf_token" value="([^"]+)"')
    assert token.search(_topbar(other.get("/").text)).group(1) != token.search(mine).group(1)


def test_the_bar_follows_the_language_and_the_url(client, db):
    make_wish()
    chinese = _topbar(client.get("/").text)
    english = _topbar(client.get("/?lang=en").text)
    assert "心愿" in chinese and "Wishes" in english
    # The sign-in link brings the visitor back to the page they were on.
    assert "next=/funds" in _topbar(client.get("/funds").text).replace("%2F", "/")
    assert "next=/funds" not in _topbar(client.get("/").text).replace("%2F", "/")


def test_each_wish_page_shares_its_own_title_and_a_new_alias_at_once(client, db):
    caseworker = make_user(Role.CASEWORKER)
    child = make_child(caseworker, alias="小明星")
    first, second = make_wish(child=child, caseworker=caseworker, title="蓝色书包"), make_wish(title="一双运动鞋")
    og_title = re.compile(r'<meta property="og:title" content="([^"]*)">')
    assert "蓝色书包" in og_title.search(client.get(f"/wishes/{first.public_id}").text).group(1)
    assert "一双运动鞋" in og_title.search(client.get(f"/wishes/{second.public_id}").text).group(1)
    services.update_child(caseworker, child, child_data(alias="小太阳", case_no=child.case_no))
    db.session.commit()
    shared = og_title.search(client.get(f"/wishes/{first.public_id}").text).group(1)
    assert "小太阳" in shared and "小明星" not in shared


def test_the_counts_follow_every_claim_though_the_rest_of_the_head_is_kept(client, db):
    wishes = [make_wish(title=f"心愿{i}") for i in range(3)]
    page = client.get("/").text
    assert _hero_counts(page) == (3, 0)
    assert '<span class="count">3</span>' in page
    claim(wishes[0])
    page = client.get("/").text
    assert _hero_counts(page) == (2, 0)
    assert re.search(r'status=claimed" class="">\S+ <span class="count">1</span>', page)


def test_the_pager_keeps_the_filter_of_its_url(client, db, app):
    app.config["PUBLIC_PAGE_SIZE"] = 1
    try:
        for i in range(3):
            make_wish(title=f"书包{i}")
        first = client.get("/?category=study").text
        second = client.get("/?category=study&page=2").text
        assert re.search(r'rel="next" href="[^"]*category=study[^"]*page=2', first)
        assert re.search(r'rel="prev" href="[^"]*category=study[^"]*page=1', second)
        assert 'rel="prev"' not in first
    finally:
        app.config["PUBLIC_PAGE_SIZE"] = 12


def test_a_fragment_is_kept_by_its_key_and_a_none_key_keeps_nothing(request_ctx):
    calls = []
    template = "{% fragment key %}{{ count() }}{% endfragment %}"

    def count():
        calls.append(1)
        return len(calls)

    assert render_template_string(template, key=("k", 1), count=count) == "1"
    assert render_template_string(template, key=("k", 1), count=count) == "1"
    assert render_template_string(template, key=("k", 2), count=count) == "2"
    assert render_template_string(template, key=None, count=count) == "3"
    assert render_template_string(template, key=None, count=count) == "4"


def test_the_fragment_store_keeps_the_most_recent_within_its_size():
    store = FragmentCache(size=2)
    store.put("a", "1")
    store.put("b", "2")
    assert store.get("a") == "1"  # now the most recent
    store.put("c", "3")
    assert store.get("b") is None and store.get("a") == "1" and store.get("c") == "3"
