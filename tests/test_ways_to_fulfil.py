"""A wish that can come true in several ways asks the donor to choose one, and says what happens next."""

from tests.factories import make_fund, make_wish

EN = {"Accept-Language": "en"}


def test_a_wish_with_several_ways_offers_a_choice_and_no_form_yet(client, db):
    fund = make_fund()
    wish = make_wish(modes="either", fund=fund.slug, amount_fen=16800)

    page = client.get(f"/wishes/{wish.public_id}", headers=EN).text

    assert "I'll buy the gift" in page and "I'll give the money" in page and "I'll pay for it online" in page
    assert 'name="contact"' not in page
    assert "community station" in page and "the fund buys the gift" in page


def test_choosing_a_way_shows_one_form_for_it(client, db):
    fund = make_fund()
    wish = make_wish(modes="either", fund=fund.slug, amount_fen=16800)

    page = client.get(f"/wishes/{wish.public_id}?way=gift", headers=EN).text

    assert 'name="contact"' in page and 'name="mode" value="gift"' in page
    assert "Choose another way" in page
    assert f'href="/donate/wish/{wish.public_id}' not in page


def test_a_wish_with_one_way_shows_its_form_at_once(client, db):
    wish = make_wish(modes="gift")

    page = client.get(f"/wishes/{wish.public_id}", headers=EN).text

    assert 'name="mode" value="gift"' in page and "Choose another way" not in page


def test_a_claim_with_errors_keeps_the_chosen_way(client, db):
    wish = make_wish(modes="either")

    response = client.post(
        f"/wishes/{wish.public_id}/claim", data={"name": "", "contact": "x", "mode": "money"}, headers=EN
    )

    assert response.status_code == 422
    assert 'name="mode" value="money"' in response.text


def test_a_way_the_wish_does_not_take_is_not_offered(client, db):
    wish = make_wish(modes="gift")

    page = client.get(f"/wishes/{wish.public_id}?way=online", headers=EN).text

    assert 'name="mode" value="gift"' in page and "/donate/wish/" not in page
