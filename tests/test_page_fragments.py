"""A page's frame and the list's head are rendered once per content (core/fragments.py):
what a visitor sees still follows who they are, their language, the URL and every claim."""

import re

import pytest
from flask import render_template_string
from markupsafe import Markup

from core import cache, fragments
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


# --- the list page as a frame with holes ---------------------------------------------------------


def _full_render(client, url: str, monkeypatch) -> str:
    """The page rendered in full, as a signed-in visitor's always is."""
    with monkeypatch.context() as patched:
        patched.setattr(fragments, "frameable", lambda: False)
        return client.get(url).text


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_framed_list_is_the_page_rendered_in_full_byte_for_byte(client, db, app, monkeypatch, lang):
    app.config["PUBLIC_PAGE_SIZE"] = 2
    try:
        wishes = [make_wish(title=f"书包{i}") for i in range(3)]
        claim(wishes[0])
        client.get(f"/?lang={lang}")
        urls = ["/", "/wishes", "/?page=2", "/?page=9", "/?status=claimed", "/?status=fulfilled", "/?q=书包"]
        urls += ["/?q=没有这个", "/?category=study&sort=cost_asc", "/?max_yuan=abc", "/?q=%3Cb%3E"]
        for url in urls:
            framed, again = client.get(url).text, client.get(url).text
            assert framed == again == _full_render(client, url, monkeypatch), url
        # One wish and two: English says "1 wish" and "2 wishes" through the same frame.
        if lang == "en":
            assert "2 wishes" in client.get("/").text
            claim(wishes[1])
            assert "1 wish<" in client.get("/").text
    finally:
        app.config["PUBLIC_PAGE_SIZE"] = 12


def test_the_frame_is_kept_while_the_counts_the_total_and_the_cards_follow_every_claim(client, db, app):
    wishes = [make_wish(title=f"心愿{i}") for i in range(3)]
    first = client.get("/").text
    assert _hero_counts(first) == (3, 0) and "共 3 个心愿" in first
    frames = len(app.jinja_env.frame_cache._entries)
    claim(wishes[0])
    page = client.get("/").text
    assert _hero_counts(page) == (2, 0) and "共 2 个心愿" in page
    assert re.search(r'status=claimed" class="">\S+ <span class="count">1</span>', page)
    assert "心愿0" not in page and "心愿1" in page and "心愿2" in page
    assert len(app.jinja_env.frame_cache._entries) == frames


def test_a_flash_message_and_a_signed_in_bar_are_never_framed(app, db):
    make_wish()
    anonymous = app.test_client()
    framed = anonymous.get("/").text
    donor = app.test_client()
    login(donor, make_user(Role.DONOR))
    mine = donor.get("/").text
    assert 'name="csrf_token"' in mine and 'name="csrf_token"' not in framed
    with anonymous.session_transaction() as session:
        session["_flashes"] = [("success", "谢谢你的认领")]
    flashed = anonymous.get("/").text
    assert "谢谢你的认领" in flashed
    assert "谢谢你的认领" not in anonymous.get("/").text


def test_text_a_visitor_sends_cannot_stand_for_a_hole(client, db, request_ctx):
    make_wish()
    forged = "\x00" + "0" * 16 + "cards\x00"
    # A NUL never gets past the app's door, in a query as anywhere else.
    assert client.get("/", query_string={"q": forged}).status_code == 400
    # And a marker without the process's seal is text like any other, left where it stands.
    frame = fragments.frame(("test", 0), ["cards"], lambda marks: f"{forged}|{marks['cards']}")
    assert frame.fill({"cards": "x"}) == f"{forged}|x"


def test_a_frame_fills_its_holes_escaping_what_is_not_markup(request_ctx):
    frame = fragments.frame(("test", 1), ["a", "b"], lambda marks: f"<p>{marks['a']}</p><i>{marks['b']}</i>")
    assert frame.fill({"a": "<script>", "b": Markup("<b>ok</b>")}) == "<p>&lt;script&gt;</p><i><b>ok</b></i>"
    assert fragments.frame(("test", 1), ["a", "b"], lambda marks: "other") is frame


def test_a_rendering_with_a_stray_or_unknown_marker_is_not_kept(request_ctx):
    unknown = fragments.hole("other")
    assert fragments.frame(("test", 2), ["a"], lambda marks: f"{marks['a']}{unknown}") is None
    broken = str(fragments.hole("a"))[:-1]
    assert fragments.frame(("test", 3), ["a"], lambda marks: broken) is None
    # Nothing was kept: the next rendering of the same keys is asked for again.
    assert fragments.frame(("test", 2), ["a"], lambda marks: f"[{marks['a']}]").fill({"a": 1}) == "[1]"
