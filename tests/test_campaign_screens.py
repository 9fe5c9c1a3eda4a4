"""A campaign's projector screen: its gifts reach the open screen streams once, in commit order, resumable."""

import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import Role
from events import broker, screens
from events.models import CampaignMessage
from funds import donations as funds
from funds.models import Campaign, CampaignKind
from tests.conftest import LiveServer, make_app
from tests.event_helpers import SseClient
from tests.factories import login, make_fund, make_user
from tests.helpers import client_for, fast_passwords  # noqa: F401 (an autouse fixture)
from tests.payment_helpers import WEBHOOK_SECRET, configured, deliver, session_event
from tests.test_security_headers import InlineCode

CONTACTS = ("13800001111", "13900002222", "zhang@example.org")


def _campaign(slug="registry", kind=CampaignKind.COUPLE, title="婚姻登记处爱心点"):
    fund = make_fund()
    campaign = Campaign(slug=slug, title=title, kind=kind, fund_id=fund.id, presets=[52000], max_fen=10_000_000)
    db.session.add(campaign)
    db.session.commit()
    return campaign


def _couple(name, partner, contact=CONTACTS[0], **overrides):
    return funds.DonorInput(name=name, contact=contact, partner_name=partner, **overrides)


def _give(campaign, amount, donor, admin=None):
    """A gift recorded at the desk (cash): the same path as the money of an online payment arriving."""
    admin = admin or make_user(Role.FUND_ADMIN)
    donation = funds.record_offline(admin, funds.Target(campaign.fund, campaign=campaign), amount, donor, "cash", None)
    db.session.commit()
    return donation


def _gifts(messages):
    return [(m["event"], m["data"]["name"], m["data"]["total_fen"], m["data"]["count"]) for m in messages]


def test_a_gift_reaches_an_open_screen_once_in_order_and_resumes_with_last_event_id(app, live_server, monkeypatch):
    monkeypatch.setitem(app.config, "EVENT_STREAM_SECONDS", 20)
    campaign = _campaign()
    admin = make_user(Role.FUND_ADMIN)
    _give(campaign, 52000, _couple("张伟", "李娜"), admin)
    first = db.session.scalar(select(CampaignMessage.id))

    screen = SseClient(live_server.url, "/campaigns/registry/screen/stream")
    try:
        assert screen.status == 200
        assert screen.response.getheader("Content-Type").startswith("text/event-stream")
        assert _gifts(screen.take(1)) == [("gift", "张* & 李*", 52000, 1)]
        # Gifts made now, at the desk and online, reach the open screen within a second.
        started = time.monotonic()
        _give(campaign, 131400, _couple("刘洋", "赵敏", display_name="洋洋和敏敏"), admin)
        online = funds.create_donation(
            funds.Target(campaign.fund, campaign=campaign), 9900, _couple("孙强", "周婷", anonymous=True), "card"
        )
        db.session.commit()
        with configured(app, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET):
            assert deliver(client_for(app), session_event(online)) == "applied"
        live = screen.take(2, timeout=3)
        assert time.monotonic() - started < 2
        assert _gifts(live) == [("gift", "洋洋和敏敏", 183400, 2), ("gift", None, 193300, 3)]
        assert int(live[0]["id"]) < int(live[1]["id"])
        assert screen.next(timeout=0.5) is None  # each gift once
    finally:
        screen.close()

    # Resuming after the first gift gives exactly what followed it, by header or by query parameter.
    path = "/campaigns/registry/screen/stream"
    for url, header in ((path, str(first)), (f"{path}?last_event_id={first}", None)):
        again = SseClient(live_server.url, url, last_event_id=header)
        try:
            resumed = again.take(3, timeout=1.5)
        finally:
            again.close()
        assert [m["data"]["name"] for m in resumed] == ["洋洋和敏敏", None]


def test_gifts_committed_concurrently_reach_the_screen_in_commit_order(app, live_server, monkeypatch):
    """Each gift's message carries the count after it: in id order the counts run 1, 2, 3 … with no gap."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent commits are a PostgreSQL matter")
    monkeypatch.setitem(app.config, "EVENT_STREAM_SECONDS", 30)
    campaign = _campaign()
    campaign_id = campaign.id
    admins = [make_user(Role.FUND_ADMIN) for _ in range(4)]
    admin_ids = [a.id for a in admins]
    db.session.commit()
    gifts = 16
    screen = SseClient(live_server.url, "/campaigns/registry/screen/stream", timeout=20)
    start = threading.Event()

    def give(n):
        start.wait(5)
        with app.app_context():
            from core.models import User

            target = db.session.get(Campaign, campaign_id)
            admin = db.session.get(User, admin_ids[n % len(admin_ids)])
            funds.record_offline(
                admin, funds.Target(target.fund, campaign=target), 10000 + n, _couple(f"新{n}", f"人{n}"), "cash", None
            )
            db.session.commit()

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            jobs = [pool.submit(give, n) for n in range(gifts)]
            start.set()
            for job in jobs:
                job.result(timeout=30)
        got = screen.take(gifts, timeout=15)
        assert screen.next(timeout=0.5) is None
    finally:
        screen.close()
    assert [m["data"]["count"] for m in got] == list(range(1, gifts + 1))
    ids = [int(m["id"]) for m in got]
    assert ids == sorted(ids) and len(set(ids)) == gifts
    assert got[-1]["data"]["total_fen"] == sum(10000 + n for n in range(gifts))


def test_a_rolled_back_or_uncounted_gift_leaves_no_message(app):
    campaign = _campaign()
    admin = make_user(Role.FUND_ADMIN)
    db.session.commit()
    funds.record_offline(
        admin, funds.Target(campaign.fund, campaign=campaign), 52000, _couple("甲", "乙"), "cash", None
    )
    db.session.rollback()
    assert db.session.scalars(select(CampaignMessage)).all() == []
    # A gift paid in the simulator counts on a public figure only on a demo site, so it moves no screen.
    pending = funds.create_donation(funds.Target(campaign.fund, campaign=campaign), 9900, _couple("丙", "丁"), "card")
    pending.simulated = True
    funds.succeed(pending, admin)
    db.session.commit()
    assert db.session.scalars(select(CampaignMessage)).all() == []


def test_the_screen_shows_only_public_names_and_no_contact(client):
    campaign = _campaign()
    admin = make_user(Role.FUND_ADMIN)
    _give(campaign, 52000, _couple("张伟", "李娜", contact=CONTACTS[0]), admin)
    _give(campaign, 100000, _couple("刘洋", "赵敏", contact=CONTACTS[1], display_name="洋洋和敏敏"), admin)
    _give(campaign, 20000, _couple("孙强", "周婷", contact=CONTACTS[2], anonymous=True), admin)

    html = client.get("/campaigns/registry/screen").get_data(as_text=True)
    assert "¥1,720" in html and 'id="screen-count">3<' in html
    assert "张* &amp; 李*" in html and "洋洋和敏敏" in html and "爱心人士" in html
    for secret in ("张伟", "李娜", "刘洋", "孙强", "周婷", *CONTACTS):
        assert secret not in html
    stored = [m.data for m in db.session.scalars(select(CampaignMessage).order_by(CampaignMessage.id))]
    assert stored == [
        {"name": "张* & 李*", "total_fen": 52000, "count": 1},
        {"name": "洋洋和敏敏", "total_fen": 152000, "count": 2},
        {"name": None, "total_fen": 172000, "count": 3},
    ]


def test_a_general_campaign_screen_shows_its_total_and_no_names(client):
    campaign = _campaign(slug="books", kind=CampaignKind.GENERAL, title="图书角")
    _give(campaign, 30000, funds.DonorInput(name="周先生", contact=CONTACTS[0]))
    html = client.get("/campaigns/books/screen").get_data(as_text=True)
    assert "图书角" in html and "¥300" in html and "周" not in html
    assert db.session.scalars(select(CampaignMessage.data)).one() == {"name": None, "total_fen": 30000, "count": 1}
    campaign.active = False
    db.session.commit()
    assert client.get("/campaigns/books/screen").status_code == 404
    assert client.get("/campaigns/books/screen/stream").status_code == 404


def test_the_screen_is_a_projector_page_without_menu_or_inline_code(client):
    _campaign()
    response = client.get("/campaigns/registry/screen")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    parser = InlineCode()
    parser.feed(html)
    assert parser.found == []
    assert "topbar" not in html and "<nav" not in html  # no site menu on the projector
    assert "/campaigns/registry/qr.svg" in html and 'src="/static/js/screen.js' in html
    assert 'data-stream-url="/campaigns/registry/screen/stream"' in html
    assert 'http-equiv="refresh"' not in html
    # Without JavaScript the figures are served with the page, and a plain link reloads it.
    assert re.search(r'<noscript>.*href="/campaigns/registry/screen".*</noscript>', html, re.S)


@pytest.mark.parametrize("path", ["/campaigns/nobody/screen", "/campaigns/nobody/screen/stream"])
def test_an_unknown_campaign_has_no_screen(client, path):
    assert client.get(path).status_code == 404


def test_a_bad_last_event_id_is_refused(client):
    _campaign()
    response = client.get("/campaigns/registry/screen/stream?last_event_id=abc")
    assert response.status_code == 422


def test_wake_ups_for_campaigns_cross_redis_as_their_own_topic():
    assert broker._decode(broker._encode(broker.campaign_topic(7)).encode()) == ("campaign", 7)
    assert broker._decode(broker._encode(7).encode()) == 7
    live = broker.LocalBroker()
    seen = live.version(broker.campaign_topic(7))
    live.publish(7)  # an event with the same id is another topic
    assert not live.wait(broker.campaign_topic(7), seen, 0.05)
    live.publish(broker.campaign_topic(7))
    assert live.wait(broker.campaign_topic(7), seen, 0.05)


def test_the_wall_links_the_screen_and_reloads_only_on_demand(client):
    _campaign()
    html = client.get("/campaigns/registry/wall").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in html
    assert re.search(r'href="/campaigns/registry/wall"', html) and 'href="/campaigns/registry/screen"' in html
    host = make_user(Role.HOST)
    db.session.commit()
    desk = client_for(client.application)
    login(desk, host)
    assert 'href="/campaigns/registry/screen"' in desk.get("/host/events").get_data(as_text=True)


def test_a_second_gift_message_waits_for_the_first_to_commit(app):
    """Ids follow commit order: while one transaction holds a campaign's new message, another gift's waits."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter")
    campaign = _campaign()
    first_gift = _give(campaign, 10000, _couple("甲", "乙")).id
    second_gift = _give(campaign, 20000, _couple("丙", "丁")).id
    appended, order = threading.Event(), []

    def first():
        with app.app_context():
            screens.on_donation_succeeded(db.session.get(funds.Donation, first_gift))
            appended.set()
            time.sleep(0.8)
            order.append("first commits")
            db.session.commit()

    def second():
        appended.wait(5)
        with app.app_context():
            screens.on_donation_succeeded(db.session.get(funds.Donation, second_gift))
            order.append("second appended")
            db.session.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert order == ["first commits", "second appended"]


REDIS_URL = os.environ.get("REDIS_URL_TEST", "")


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL_TEST is not set")
def test_redis_wakes_a_screen_served_by_another_process(app, database_url, tmp_path):
    """A gift recorded through one server reaches a screen streaming from another at once, through Redis."""
    import redis

    redis.Redis.from_url(REDIS_URL).ping()
    # The database poll is far away: only a wake-up through Redis can deliver the message in time.
    settings = {"EVENT_BROKER_URL": REDIS_URL, "EVENT_STREAM_POLL_SECONDS": 60, "EVENT_STREAM_SECONDS": 30}
    first = make_app(database_url, tmp_path / "a", **settings)
    second = make_app(database_url, tmp_path / "b", **settings)
    campaign = _campaign()
    with LiveServer(first) as a, LiveServer(second) as b:
        screen = SseClient(b.url, "/campaigns/registry/screen/stream")
        try:
            time.sleep(0.5)
            with first.app_context():
                target = db.session.get(Campaign, campaign.id)
                admin = make_user(Role.FUND_ADMIN)
                started = time.monotonic()
                funds.record_offline(
                    admin, funds.Target(target.fund, campaign=target), 52000, _couple("张伟", "李娜"), "cash", None
                )
                db.session.commit()
            got = screen.take(1, timeout=5)
            elapsed = time.monotonic() - started
        finally:
            screen.close()
        assert a.url != b.url
    assert _gifts(got) == [("gift", "张* & 李*", 52000, 1)]
    assert elapsed < 2, elapsed
