"""On a phone, the claim's confirmation tells the donor where to bring the gift, or where to post it."""

import pytest
from playwright.sync_api import expect

from core.models import Role
from tests.factories import make_child, make_user, make_wish
from wishes import places, stations

pytestmark = pytest.mark.browser


def test_the_confirmation_shows_the_station_and_how_to_post_it(phone_page, live_server, db):
    places.ensure_place("崂山区", "王哥庄街道")
    stations.create_station(
        make_user(Role.SUPERVISOR),
        {
            "district": "崂山区",
            "street": "王哥庄街道",
            "name": "王哥庄街道未成年人保护工作站",
            "address": "港东社区服务中心一楼",
            "hours": "周一至周五 8:30–17:00",
            "contact_name": "王老师",
            "contact_phone": "0532-8780 0005",
        },
    )
    wish = make_wish(child=make_child(district="崂山区", street="王哥庄街道"), title="一个篮球")
    db.session.commit()

    phone_page.goto(f"/wishes/{wish.public_id}")
    phone_page.get_by_label("您的姓名").fill("李明")
    phone_page.get_by_label("手机号或电子邮箱").fill("13912345678")
    phone_page.get_by_role("button", name="认领这个心愿").tap()

    delivery = phone_page.locator("#delivery")
    expect(delivery).to_contain_text("王哥庄街道未成年人保护工作站")
    expect(delivery).to_contain_text("周一至周五 8:30–17:00")
    expect(delivery.get_by_role("link", name="地图")).to_have_attribute(
        "href",
        "https://uri.amap.com/search?keyword=%E5%B4%82%E5%B1%B1%E5%8C%BA%E6%B8%AF%E4%B8%9C%E7%A4%BE%E5%8C%BA%E6%9C%8D%E5%8A%A1%E4%B8%AD%E5%BF%83%E4%B8%80%E6%A5%BC",
    )
    reference = delivery.locator(".reference")
    expect(reference).to_be_hidden()
    delivery.get_by_text("改为邮寄").tap()
    expect(reference).to_be_visible()
    expect(reference).to_contain_text("微心愿 ")
