"""The list page's cards and filter form are rendered once per content (wishes/views.py
`_card_html`, `_filters_html`): a page shows every change to a wish, its child or the
district menu at once, with the response cache off as with it on."""

import re
from datetime import date, timedelta
from urllib.parse import quote

import pytest

from core import cache
from core.models import Role
from tests.factories import child_data, claim, make_child, make_user, make_wish
from wishes import places, services, views


@pytest.fixture(autouse=True)
def _empty_store():
    cache.store.clear()
    yield
    cache.store.clear()


@pytest.fixture(params=[False, True], ids=["cache-off", "cache-on"])
def response_cache(request, app):
    app.config["RESPONSE_CACHE"] = request.param
    yield request.param
    app.config["RESPONSE_CACHE"] = True


def _cards(html: str) -> list[str]:
    return re.findall(r'<article class="card wish-card">.*?</article>', html, re.S)


def _titles(html: str) -> list[str]:
    return re.findall(r"<h3>(.*?)</h3>", "".join(_cards(html)))


def test_a_claimed_wish_leaves_the_open_list_at_once(client, db, response_cache):
    wish, other = make_wish(title="蓝色书包"), make_wish(title="红色书包")
    assert sorted(_titles(client.get("/").text)) == ["红色书包", "蓝色书包"]
    claim(wish)
    assert _titles(client.get("/").text) == ["红色书包"]
    claimed = _cards(client.get("/?status=claimed").text)
    assert len(claimed) == 1 and "蓝色书包" in claimed[0] and "status-claimed" in claimed[0]
    assert other.public_id in _cards(client.get("/").text)[0]


def test_a_published_wish_appears_at_once(client, db, response_cache):
    make_wish(title="蓝色书包")
    assert _titles(client.get("/").text) == ["蓝色书包"]
    make_wish(title="一双运动鞋")
    assert sorted(_titles(client.get("/").text)) == ["一双运动鞋", "蓝色书包"]


def test_a_childs_new_alias_and_place_show_at_once(client, db, response_cache):
    caseworker = make_user(Role.CASEWORKER)
    child = make_child(caseworker, alias="小明星")
    make_wish(child=child, caseworker=caseworker)
    assert "小明星" in _cards(client.get("/").text)[0]

    data = child_data(alias="小太阳", street="广益街道", case_no=child.case_no)
    places.ensure_place(data["district"], data["street"], data["community"])
    services.update_child(caseworker, child, data)
    db.session.commit()
    card = _cards(client.get("/").text)[0]
    assert "小太阳" in card and "小明星" not in card
    assert "梁溪区广益街道" in card


def test_the_age_on_a_card_follows_the_local_date(client, db, app, monkeypatch):
    app.config["RESPONSE_CACHE"] = False
    try:
        today = date(2026, 3, 13)
        monkeypatch.setattr(views, "local_today", lambda: today)
        make_wish(child=make_child(birth_date=date(2017, 3, 14)))
        assert "8 岁" in _cards(client.get("/").text)[0]
        today += timedelta(days=1)
        assert "9 岁" in _cards(client.get("/").text)[0]
    finally:
        app.config["RESPONSE_CACHE"] = True


def test_each_language_gets_its_own_card(client, db, app):
    app.config["RESPONSE_CACHE"] = False
    try:
        make_wish()
        chinese = _cards(client.get("/").text)[0]
        english = _cards(client.get("/?lang=en").text)[0]
        assert "岁" in chinese and "years old" in english
        assert _cards(client.get("/?lang=zh_CN").text)[0] == chinese
    finally:
        app.config["RESPONSE_CACHE"] = True


def test_the_district_menu_follows_the_places_at_once(client, db, response_cache):
    wish = make_wish()
    assert '<option value="梁溪区江海街道"' in client.get("/").text
    assert '<option value="崂山区王哥庄街道"' not in client.get("/").text
    other = make_wish(child=make_child(district="崂山区", street="王哥庄街道"))
    assert '<option value="崂山区王哥庄街道"' in client.get("/").text
    services.withdraw_wish(other.created_by, other, "孩子已搬家")
    db.session.commit()
    assert '<option value="崂山区王哥庄街道"' not in client.get("/").text
    assert wish.public_id in client.get("/").text


def test_the_filter_form_shows_the_requests_own_choices(client, db, response_cache):
    make_wish()
    page = client.get("/?district=" + quote("梁溪区江海街道") + "&category=study&sort=cost_asc&max_yuan=%3Cb%3E").text
    assert '<option value="梁溪区江海街道" selected>' in page
    assert '<option value="study" selected>' in page
    assert '<option value="cost_asc" selected>' in page
    assert 'value="&lt;b&gt;"' in page and "<b>" not in page
    plain = client.get("/").text
    assert "selected>" not in plain.split('<select name="district">')[1].split("</select>")[0]
