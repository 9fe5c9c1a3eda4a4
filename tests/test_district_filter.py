"""DESIGN.md §5: a `district` value taken from a wish's `child.district` finds that wish.

The values are taken from the API's own answers, never typed here, so the tests hold
whatever form the public district takes.
"""

import re
from urllib.parse import quote

import pytest

from core.models import Role
from tests.factories import make_child, make_user, make_wish
from wishes import places as place_list
from wishes import services
from wishes.models import WishStatus

PRIVATE_COMMUNITY = "凤宾社区"


@pytest.fixture
def places(db):
    """Three children in three places: two streets of one district and another district."""
    caseworker = make_user(Role.CASEWORKER)
    supervisor = make_user(Role.SUPERVISOR)
    wishes = {}
    for key, district, street in (
        ("wanggezhuang", "崂山区", "王哥庄街道"),
        ("shazikou", "崂山区", "沙子口街道"),
        ("jianghai", "梁溪区", "江海街道"),
    ):
        child = make_child(caseworker, district=district, street=street, community=PRIVATE_COMMUNITY)
        wishes[key] = make_wish(child=child, supervisor=supervisor, category="books")
    return wishes


def _api(client, query=""):
    response = client.get(f"/api/v1/wishes?{query}")
    assert response.status_code == 200, response.data[:300]
    return response.get_json()


def _shown_district(client, wish) -> str:
    """The wish's child.district exactly as the list API shows it."""
    items = {item["id"]: item for item in _api(client, "per_page=100")["items"]}
    return items[wish.public_id]["child"]["district"]


def _ids(body) -> set[str]:
    return {item["id"] for item in body["items"]}


def test_the_api_finds_each_wish_by_its_own_child_district(client, places):
    for wish in places.values():
        shown = _shown_district(client, wish)
        body = _api(client, f"district={quote(shown)}")
        assert _ids(body) == {wish.public_id}
        assert body["total"] == 1
        assert {item["child"]["district"] for item in body["items"]} == {shown}


def test_a_district_alone_finds_all_its_streets(client, places):
    body = _api(client, "district=" + quote("崂山区"))
    assert _ids(body) == {places["wanggezhuang"].public_id, places["shazikou"].public_id}
    assert body["total"] == 2


def test_a_space_between_district_and_street_finds_the_same_wishes(client, places):
    body = _api(client, "district=" + quote("崂山区 王哥庄街道"))
    assert _ids(body) == {places["wanggezhuang"].public_id}


def test_street_is_a_filter_of_its_own(client, places):
    assert _ids(_api(client, "street=" + quote("沙子口街道"))) == {places["shazikou"].public_id}
    both = _api(client, "district=" + quote("崂山区") + "&street=" + quote("王哥庄街道"))
    assert _ids(both) == {places["wanggezhuang"].public_id}
    elsewhere = _api(client, "district=" + quote("梁溪区") + "&street=" + quote("王哥庄街道"))
    assert elsewhere["items"] == [] and elsewhere["total"] == 0


@pytest.mark.parametrize("value", ["不存在区", "崂山区不存在街道", "王哥庄街道崂山区", "区"])
def test_an_unknown_district_is_an_empty_list_not_an_error(client, places, value):
    body = _api(client, "district=" + quote(value))
    assert body["items"] == [] and body["total"] == 0 and body["next"] is None


def test_the_district_combines_with_the_other_filters(client, places):
    caseworker = make_user(Role.CASEWORKER)
    child = make_child(caseworker, district="崂山区", street="王哥庄街道")
    sports = make_wish(child=child, category="sports", amount_fen=50000)
    claimed = make_wish(WishStatus.CLAIMED, child=child, category="books")
    shown = quote(_shown_district(client, sports))

    assert _ids(_api(client, f"district={shown}&category=sports")) == {sports.public_id}
    cheap = _api(client, f"district={shown}&max_amount_fen=20000")
    assert _ids(cheap) == {places["wanggezhuang"].public_id} and cheap["total"] == 1
    assert _ids(_api(client, f"district={shown}&status=claimed")) == {claimed.public_id}


def test_a_long_district_and_street_fit_the_query(client, db):
    child = make_child(district="区" * 40, street="街" * 40)
    wish = make_wish(child=child)
    shown = _shown_district(client, wish)
    assert _ids(_api(client, f"district={quote(shown)}")) == {wish.public_id}


def test_the_filter_follows_the_child_when_its_file_changes(client, places):
    wish = places["jianghai"]
    child = wish.child
    data = {
        key: getattr(child, key)
        for key in (
            "case_no",
            "legal_name",
            "birth_date",
            "gender",
            "guardian_name",
            "guardian_phone",
            "address",
            "school",
            "category",
            "community",
            "alias",
            "notes",
        )
    }
    place_list.ensure_place("滨湖区", "河埒街道", data["community"] or "")
    services.update_child(child.caseworker, child, {**data, "district": "滨湖区", "street": "河埒街道"})
    services.db.session.commit()

    shown = _shown_district(client, wish)
    assert shown == "滨湖区河埒街道"
    assert _ids(_api(client, f"district={quote(shown)}")) == {wish.public_id}
    assert _api(client, "district=" + quote("梁溪区"))["items"] == []


# --- the public list page -------------------------------------------------------------------


def _card_ids(html: str) -> set[str]:
    return set(re.findall(r'href="/wishes/([0-9a-z]+)"', html))


def _menu_values(html: str) -> list[str]:
    menu = re.search(r'<select name="district">(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"', menu)


def test_the_page_finds_each_wish_by_the_api_child_district(client, places):
    for wish in places.values():
        shown = _shown_district(client, wish)
        page = client.get(f"/wishes?district={quote(shown)}")
        assert page.status_code == 200
        assert _card_ids(page.text) == {wish.public_id}
        assert shown in page.text


def test_the_page_menu_offers_the_values_the_api_shows(client, places):
    shown = {_shown_district(client, wish) for wish in places.values()}
    values = _menu_values(client.get("/wishes").text)
    assert shown <= set(values)
    # and the districts alone, each of which lists all its streets
    assert {"崂山区", "梁溪区"} <= set(values)
    assert set(values) == shown | {"", "崂山区", "梁溪区"}
    page = client.get("/wishes?district=" + quote("崂山区"))
    assert _card_ids(page.text) == {places["wanggezhuang"].public_id, places["shazikou"].public_id}


def test_the_page_marks_the_chosen_place(client, places):
    shown = _shown_district(client, places["shazikou"])
    html = client.get(f"/wishes?district={quote(shown)}").text
    assert re.search(rf'<option value="{shown}" selected>', html)


def test_an_unknown_district_on_the_page_is_an_empty_list(client, places):
    page = client.get("/wishes?district=" + quote("不存在区"))
    assert page.status_code == 200
    assert _card_ids(page.text) == set()
    assert 'class="empty"' in page.text


def test_no_community_or_address_reaches_the_filter_or_its_answers(client, places):
    wish = places["wanggezhuang"]
    page = client.get("/wishes").text
    api = client.get("/api/v1/wishes").text
    for text in (page, api):
        assert PRIVATE_COMMUNITY not in text
        assert wish.child.address not in text
    # a community is not a place the filter knows
    assert _api(client, "district=" + quote("崂山区王哥庄街道" + PRIVATE_COMMUNITY))["items"] == []
