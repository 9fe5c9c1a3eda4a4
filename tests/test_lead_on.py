"""A thank-you leads on: open wishes nearby, the fund behind the wish, and a way to share it."""

from tests.factories import claim, make_child, make_fund, make_wish


def test_the_claims_page_leads_to_open_wishes_of_the_same_district_and_the_fund(client, db):
    fund = make_fund()
    here = make_child(district="崂山区", street="王哥庄街道")
    claimed = make_wish(child=here, title="一个篮球", fund=fund.slug, modes="either")
    make_wish(child=make_child(district="崂山区", street="沙子口街道"), title="一盒彩色铅笔")
    make_wish(child=make_child(district="梁溪区", street="江海街道"), title="一本新华字典")
    _claim, token = claim(claimed)

    page = client.get(f"/claims/manage/{token}").get_data(as_text=True)

    lead_on = page.split('class="card lead-on"', 1)[1]
    assert "一盒彩色铅笔" in lead_on and "一本新华字典" not in lead_on and "一个篮球</a>" not in lead_on
    assert f"/funds/{fund.slug}" in lead_on
    assert "data-share" in lead_on and f"/wishes/{claimed.public_id}/share.png" in lead_on


def test_when_nothing_is_open_nearby_it_points_to_other_districts(client, db):
    lone = make_wish(child=make_child(district="咸安区", street="温泉街道"))
    _claim, token = claim(lone)

    page = client.get(f"/claims/manage/{token}").get_data(as_text=True)

    assert "其他地区" in page
