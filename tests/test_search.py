"""Searching wishes as a donor types: Chinese without spaces, two-character words, Latin words in any width."""

import pytest

from core.models import Role
from tests.factories import make_child, make_user, make_wish
from wishes import search, services
from wishes.models import WishStatus


def _titles(client, **params) -> list[str]:
    response = client.get("/api/v1/wishes", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return sorted(item["title"] for item in response.get_json()["items"])


@pytest.fixture
def shelf(db):
    caseworker = make_user(Role.CASEWORKER)
    supervisor = make_user(Role.SUPERVISOR)
    child = make_child(caseworker, legal_name="王雨涵", alias="小雨点")
    other = make_child(caseworker, alias="小石头", district="崂山区", street="王哥庄街道")
    wishes = {
        "书包": make_wish(child=child, supervisor=supervisor, title="一个新书包", story="旧的那个已经用了三年，坏了。"),
        "鞋": make_wish(child=child, supervisor=supervisor, title="一双运动鞋", story="想穿着它参加运动会的跑步比赛。"),
        "琴": make_wish(child=other, supervisor=supervisor, title="电子琴", story="从小喜欢音乐，想在家里学弹琴。"),
        "lego": make_wish(child=other, supervisor=supervisor, title="LEGO 积木", story="想和弟弟一起搭一座大房子。"),
        "draft": make_wish(WishStatus.DRAFT, child=other, title="一个书包套", story="这是一份还在草稿里的书包心愿。"),
    }
    return wishes


def test_the_index_terms_are_pairs_of_chinese_characters_and_whole_latin_words():
    assert search.terms("运动鞋") == {"运动", "动鞋", "鞋"}
    assert search.terms("LEGO 积木!") == {"lego", "积木", "木"}
    assert search.terms("ＬＥＧＯ") == {"lego"}
    assert search.query_terms("书") == (("书", True),)
    assert search.query_terms("红色书包") == (("红色", False), ("色书", False), ("书包", False))


def test_a_two_character_word_finds_the_wishes_that_hold_it(client, shelf):
    assert _titles(client, q="书包") == ["一个新书包"]
    assert _titles(client, q="运动鞋") == ["一双运动鞋"]
    # A word from the story, not the title.
    assert _titles(client, q="弹琴") == ["电子琴"]


def test_one_character_and_latin_words_match_as_prefixes_in_any_width_or_case(client, shelf):
    assert _titles(client, q="琴") == ["电子琴"]
    assert _titles(client, q="lego") == ["LEGO 积木"]
    assert _titles(client, q="ＬＥＧ") == ["LEGO 积木"]


def test_every_word_must_match(client, shelf):
    assert _titles(client, q="运动 比赛") == ["一双运动鞋"]
    assert _titles(client, q="运动 钢琴") == []


def test_search_combines_with_the_other_filters_and_sees_only_public_wishes(client, shelf):
    assert _titles(client, q="书包", district="崂山区") == []
    assert _titles(client, q="积木", district="崂山区") == ["LEGO 积木"]
    # The draft holds 书包 too, but it is not public.
    assert "一个书包套" not in _titles(client, q="书包")


def test_a_childs_private_file_is_not_searchable(client, shelf):
    assert _titles(client, q="王雨涵") == []
    assert _titles(client, q="雨涵") == []


def test_an_edited_wish_is_found_by_its_new_words_only(client, db, shelf):
    draft = shelf["draft"]
    caseworker = db.session.get(type(draft.child.caseworker), draft.child.caseworker_id)
    services.update_wish(
        caseworker, draft, {**_data(draft), "title": "一盒彩色铅笔", "story": "她从小就非常喜欢画画。"}
    )
    services.submit_wish(caseworker, draft)
    services.approve_wish(make_user(Role.SUPERVISOR), draft)
    db.session.commit()

    assert _titles(client, q="铅笔") == ["一盒彩色铅笔"]
    assert _titles(client, q="书包套") == []


def _data(wish) -> dict:
    return {
        "title": wish.title,
        "story": wish.story,
        "category": wish.category,
        "amount_fen": wish.amount_fen,
        "needed_by": wish.needed_by,
        "modes": wish.modes,
        "fund": None,
    }


def test_the_list_page_searches_and_says_when_nothing_matches(client, shelf):
    page = client.get("/wishes", query_string={"q": "书包"}).get_data(as_text=True)
    assert "一个新书包" in page and "一双运动鞋" not in page
    assert 'value="书包"' in page

    empty = client.get("/wishes", query_string={"q": "飞机模型"}).get_data(as_text=True)
    assert "飞机模型" in empty and "一个新书包" not in empty


@pytest.mark.parametrize("query", ["%", "_", "' OR 1=1 --", "<script>", "书" * 80, "\x00", "　", "😀"])
def test_odd_queries_answer_calmly(client, shelf, query):
    api = client.get("/api/v1/wishes", query_string={"q": query})
    page = client.get("/wishes", query_string={"q": query})
    assert api.status_code in (200, 400, 422)
    assert page.status_code in (200, 400)
    assert "<script>" not in page.get_data(as_text=True).replace("&lt;script&gt;", "")


def test_a_common_word_is_counted_to_a_thousand_and_then_said_to_be_more(client, db, monkeypatch, shelf):
    monkeypatch.setattr(search, "COUNT_CAP", 2)
    for n in range(3):
        make_wish(title=f"第{n}个新书包", story="旧书包的拉链坏了，想要一个新书包。")

    assert client.get("/api/v1/wishes", query_string={"q": "书包"}).get_json()["total"] == 3
    page = client.get("/wishes", query_string={"q": "书包"}).get_data(as_text=True)
    assert "超过 2 个心愿" in page
    assert client.get("/api/v1/wishes", query_string={"q": "运动鞋"}).get_json()["total"] == 1
