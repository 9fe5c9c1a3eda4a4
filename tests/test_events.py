"""Events and the live board: the contract (DESIGN.md §5), the stream, paddle claims, backups, undo, the room."""

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from core.errors import Conflict, InvalidTransition, NotFound, ValidationError
from core.extensions import db
from core.models import AuditLog, Role
from events import services
from events.models import Attendee, EventClaim, EventMessage, EventStatus
from tests.event_helpers import SseClient, make_event
from tests.factories import claim, login, make_user, make_wish
from tests.helpers import client_for, fast_passwords  # noqa: F401 (an autouse fixture)
from wishes import services as wish_services
from wishes.models import ClaimStatus, WishStatus

PADDLES = [(12, "王建国", "13900000012"), (7, "青岛某科技有限公司", "13900000007"), (30, "李女士", "13900000030")]


def _claim_body(**overrides):
    return {"name": "周先生", "contact": "13800001111", "display_name": "周先生", **overrides}


# --- the contract -------------------------------------------------------------------------------


def test_list_of_events_names_public_events_with_their_board_and_stream(client):
    live, _host, _w = make_event(slug="liuyi")
    make_event(slug="draft-soon", status=EventStatus.DRAFT)
    make_event(slug="over", status=EventStatus.CLOSED)
    body = client.get("/api/v1/events").get_json()
    slugs = [item["slug"] for item in body["items"]]
    assert set(slugs) == {"liuyi", "draft-soon"}
    item = next(i for i in body["items"] if i["slug"] == "liuyi")
    assert set(item) == {"slug", "title", "status", "starts_at", "venue", "board_url", "stream_url"}
    assert item["status"] == "live" and item["venue"] == "王哥庄街道"
    assert item["board_url"].endswith("/events/liuyi/board")
    assert item["stream_url"].endswith("/events/liuyi/stream")


def test_board_snapshot_has_exactly_the_contract_fields(client):
    event, _host, wishes = make_event(wishes=3)
    claim(wishes[0], display_name="青岛爱心企业")
    body = client.get(f"/api/v1/events/{event.slug}/board").get_json()
    assert set(body) == {"event", "wishes", "claimed", "total", "raised_fen", "last_event_id"}
    assert body["event"] == {"slug": "liuyi", "title": "六一儿童节微心愿认领活动", "status": "live"}
    assert body["claimed"] == 1 and body["total"] == 3 and body["raised_fen"] == 0
    first = body["wishes"][0]
    assert set(first) == {"id", "title", "status", "child", "public_name"}
    assert set(first["child"]) == {"alias", "age", "district"}
    assert first["id"] == wishes[0].public_id and first["status"] == "claimed"
    assert first["public_name"] == "青岛爱心企业"
    assert body["wishes"][1]["public_name"] is None
    last = db.session.scalar(select(func.max(EventMessage.id)))
    assert body["last_event_id"] == str(last)


def test_unknown_event_is_a_json_404(client):
    response = client.get("/api/v1/events/nope/board")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/events/nope/stream").status_code == 404
    assert client.get("/events/nope/board").status_code == 404


def test_a_claim_through_the_public_api_is_a_claim_message(client):
    event, _host, wishes = make_event(wishes=2)
    response = client.post(f"/api/v1/wishes/{wishes[1].public_id}/claim", json=_claim_body(display_name="小周"))
    assert response.status_code == 201
    messages = db.session.scalars(select(EventMessage).order_by(EventMessage.id)).all()
    assert [(m.kind, m.data["wish"], m.data["public_name"]) for m in messages] == [
        ("claim", wishes[1].public_id, "小周")
    ]


def test_a_rolled_back_claim_leaves_no_message(app):
    event, _host, wishes = make_event(wishes=1)
    wish_services.claim_wish(wishes[0], wish_services.ClaimInput(name="周", contact="13800001111"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(EventMessage)) == 0


def test_wishes_not_featured_or_events_not_live_get_no_message():
    make_event(wishes=1, status=EventStatus.DRAFT)
    other = make_wish()
    claim(other)
    draft_wish = services.get_event("liuyi").featured[0].wish
    claim(draft_wish)
    assert db.session.scalar(select(func.count()).select_from(EventMessage)) == 0


# --- the stream ---------------------------------------------------------------------------------


def test_stream_sends_missed_messages_in_order_then_live_ones(app, live_server, monkeypatch):
    monkeypatch.setitem(app.config, "EVENT_STREAM_SECONDS", 20)
    event, _host, wishes = make_event(wishes=3)
    claim(wishes[0], display_name="甲")
    first = db.session.scalar(select(func.max(EventMessage.id)))
    claim(wishes[1], display_name="乙")

    reader = SseClient(live_server.url, "/events/liuyi/stream")
    try:
        assert reader.status == 200
        assert reader.response.getheader("Content-Type").startswith("text/event-stream")
        got = reader.take(2)
        assert [(m["event"], m["data"]["wish"]) for m in got] == [
            ("claim", wishes[0].public_id),
            ("claim", wishes[1].public_id),
        ]
        assert int(got[0]["id"]) < int(got[1]["id"])
        # A claim made now, through the public API, reaches the open stream.
        client = client_for(app)
        assert client.post(f"/api/v1/wishes/{wishes[2].public_id}/claim", json=_claim_body()).status_code == 201
        live = reader.take(1, timeout=3)
        assert [(m["event"], m["data"]["wish"], m["data"]["public_name"]) for m in live] == [
            ("claim", wishes[2].public_id, "周先生")
        ]
    finally:
        reader.close()

    # Resuming after the first message gives exactly what followed it, by header or by query parameter.
    for path, header in (("/events/liuyi/stream", str(first)), (f"/events/liuyi/stream?last_event_id={first}", None)):
        again = SseClient(live_server.url, path, last_event_id=header)
        try:
            resumed = again.take(3, timeout=2)
        finally:
            again.close()
        assert [m["data"]["wish"] for m in resumed] == [wishes[1].public_id, wishes[2].public_id]


def test_stream_keeps_alive_and_ends_so_the_browser_reconnects(app, live_server, monkeypatch):
    monkeypatch.setitem(app.config, "EVENT_STREAM_SECONDS", 2)
    monkeypatch.setitem(app.config, "EVENT_STREAM_HEARTBEAT_SECONDS", 1)
    make_event(wishes=1)
    reader = SseClient(live_server.url, "/events/liuyi/stream")
    try:
        assert reader.next(timeout=6) is None  # the stream ended by itself
        assert reader.comments >= 1
    finally:
        reader.close()


def test_a_bad_last_event_id_is_refused(client):
    make_event(wishes=1)
    response = client.get("/events/liuyi/stream?last_event_id=abc")
    assert response.status_code == 422


# --- the host console -----------------------------------------------------------------------------


def test_paddle_claim_records_the_attendee_and_backups(client):
    event, host, wishes = make_event(wishes=2, attendees=PADDLES)
    record = services.claim_for_paddle(host, event, wishes[0].public_id, ["12", "7", "30"], key="k1")
    db.session.commit()
    assert record.attendee.paddle == 12
    assert record.claim.source == "event_paddle" and record.claim.status == ClaimStatus.ACTIVE
    message = db.session.scalars(select(EventMessage).where(EventMessage.kind == "claim")).one()
    assert message.data == {"wish": wishes[0].public_id, "public_name": "王建国", "paddle": 12}
    # The claim is released: the first backup, paddle 7, is offered the wish, and the board shows it.
    wish_services.cancel_claim(record.claim, "system", "changed their mind")
    db.session.commit()
    release = db.session.scalars(select(EventMessage).where(EventMessage.kind == "release")).one()
    assert release.data == {"wish": wishes[0].public_id, "reason": "cancelled", "offered_to": 7}
    board = client.get(f"/events/{event.slug}/board").get_data(as_text=True)
    assert "7" in board and "is-offered" in board


def test_a_double_tap_records_one_claim():
    event, host, wishes = make_event(wishes=1, attendees=PADDLES)
    first = services.claim_for_paddle(host, event, wishes[0].public_id, ["12"], key="tap-1")
    db.session.commit()
    again = services.claim_for_paddle(host, event, wishes[0].public_id, ["12"], key="tap-1")
    db.session.commit()
    assert again.id == first.id
    assert db.session.scalar(select(func.count()).select_from(EventClaim)) == 1


@pytest.mark.parametrize(
    "case",
    ["unknown paddle", "wish not in the event", "closed event", "already claimed", "not a host", "no paddle"],
)
def test_bad_host_input_changes_nothing(case):
    event, host, wishes = make_event(wishes=2, attendees=PADDLES)
    other = make_wish()
    paddles, public_id, actor = ["12"], wishes[0].public_id, host
    expected = ValidationError
    if case == "unknown paddle":
        paddles = ["99"]
    elif case == "wish not in the event":
        public_id, expected = other.public_id, NotFound
    elif case == "closed event":
        services.close_event(host, event)
        db.session.commit()
        expected = InvalidTransition
    elif case == "already claimed":
        claim(wishes[0])
        expected = Conflict
    elif case == "not a host":
        actor = make_user(Role.CASEWORKER)
        from core.errors import Forbidden

        expected = Forbidden
    elif case == "no paddle":
        paddles = []
    before = (
        db.session.scalar(select(func.count()).select_from(EventMessage)),
        db.session.scalar(select(func.count()).select_from(EventClaim)),
    )
    with pytest.raises(expected):
        services.claim_for_paddle(actor, event, public_id, paddles, key="k")
    db.session.rollback()
    after = (
        db.session.scalar(select(func.count()).select_from(EventMessage)),
        db.session.scalar(select(func.count()).select_from(EventClaim)),
    )
    assert after == before


def test_undo_is_a_compensating_message_within_the_window(app, monkeypatch):
    event, host, wishes = make_event(wishes=1, attendees=PADDLES)
    record = services.claim_for_paddle(host, event, wishes[0].public_id, ["12"])
    db.session.commit()
    services.undo_claim(host, event, record.id)
    db.session.commit()
    kinds = [(m.kind, m.data.get("reason")) for m in db.session.scalars(select(EventMessage).order_by(EventMessage.id))]
    assert kinds == [("claim", None), ("release", "undo")]
    assert db.session.get(type(wishes[0]), wishes[0].id).status == WishStatus.PUBLISHED
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "event.claim_undone"))
    # A second undo, or one after the window, is refused.
    with pytest.raises(InvalidTransition):
        services.undo_claim(host, event, record.id)
    db.session.rollback()
    late = services.claim_for_paddle(host, event, wishes[0].public_id, ["7"])
    db.session.commit()
    monkeypatch.setitem(app.config, "EVENT_UNDO_MINUTES", 0)
    with pytest.raises(InvalidTransition):
        services.undo_claim(host, event, late.id)


def test_host_console_claims_by_paddle_and_undoes(app):
    event, host, wishes = make_event(wishes=2, attendees=PADDLES)
    client = client_for(app)
    login(client, host)
    page = client.get(f"/events/{event.slug}/host")
    assert page.status_code == 200 and wishes[0].title in page.get_data(as_text=True)
    response = client.post(
        f"/events/{event.slug}/host/claim", data={"wish": wishes[0].public_id, "paddles": "12, 7", "key": "abc"}
    )
    assert response.status_code == 302
    record = db.session.scalars(select(EventClaim)).one()
    response = client.post(f"/events/{event.slug}/host/undo/{record.id}")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(EventClaim, record.id).undone_at is not None


def test_host_pages_refuse_other_roles(app):
    event, _host, _wishes = make_event(wishes=1)
    client = client_for(app)
    assert client.get(f"/events/{event.slug}/host").status_code == 302
    login(client, make_user(Role.DONOR))
    assert client.get(f"/events/{event.slug}/host").status_code == 403
    assert client.post(f"/events/{event.slug}/host/close").status_code == 403
    assert client.get(f"/events/{event.slug}/host/results.xlsx").status_code == 403


def test_pause_spotlight_pledge_and_close_reach_the_log(client):
    event, host, wishes = make_event(wishes=2, attendees=PADDLES)
    services.set_paused(host, event, True)
    services.set_paused(host, event, False)
    services.spotlight(host, event, wishes[1].public_id)
    services.record_pledge(host, event, 50000, "7")
    services.close_event(host, event)
    db.session.commit()
    kinds = [m.kind for m in db.session.scalars(select(EventMessage).order_by(EventMessage.id))]
    assert kinds == ["pause", "resume", "spotlight", "donation", "close"]
    body = client.get(f"/api/v1/events/{event.slug}/board").get_json()
    assert body["raised_fen"] == 50000 and body["event"]["status"] == "closed"
    with pytest.raises(InvalidTransition):
        services.record_pledge(host, event, 100, None)


# --- attendees ----------------------------------------------------------------------------------


def _xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_import_writes_nothing_when_a_row_is_bad(app):
    event, host, _wishes = make_event(wishes=1, status=EventStatus.DRAFT)
    client = client_for(app)
    login(client, host)
    bad = _xlsx([["号牌", "姓名", "单位", "手机"], [1, "甲", "某公司", "13900000001"], [2, "", None, "abc"]])
    response = client.post(
        f"/events/{event.slug}/host/attendees/import", data={"file": (io.BytesIO(bad), "paddles.xlsx")}
    )
    assert response.status_code == 422
    assert "第 3 行" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Attendee)) == 0
    good = "paddle,name,organisation,phone\n1,甲,某公司,13900000001\n2,乙,,13900000002\n".encode()
    response = client.post(
        f"/events/{event.slug}/host/attendees/import", data={"file": (io.BytesIO(good), "paddles.csv")}
    )
    assert response.status_code == 302
    assert sorted(db.session.scalars(select(Attendee.paddle))) == [1, 2]
    sheet = client.get(f"/events/{event.slug}/host/paddles").get_data(as_text=True)
    assert "某公司" in sheet


def test_results_download_lists_claims_backups_and_contacts(app):
    event, host, wishes = make_event(wishes=2, attendees=PADDLES)
    services.claim_for_paddle(host, event, wishes[0].public_id, ["12", "30"])
    services.close_event(host, event)
    db.session.commit()
    client = client_for(app)
    login(client, host)
    response = client.get(f"/events/{event.slug}/host/results.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    first = rows[1]
    assert first[0] == wishes[0].title and first[6] == 12 and first[9] == "13900000012"
    assert "李女士" in first[11]
    assert rows[2][6] is None


# --- the room -----------------------------------------------------------------------------------


def test_room_claim_in_two_taps_remembers_the_guest_and_caps_a_device(app, monkeypatch):
    monkeypatch.setitem(app.config, "EVENT_CLAIMS_PER_DEVICE", 1)
    event, _host, wishes = make_event(wishes=2)
    phone = client_for(app)
    page = phone.get(f"/events/{event.slug}/room")
    assert page.status_code == 200 and wishes[0].title in page.get_data(as_text=True)
    response = phone.post(
        f"/events/{event.slug}/room/{wishes[0].public_id}",
        data={"name": "赵女士", "contact": "13700000001", "key": "room-1"},
    )
    assert response.status_code == 302
    record = db.session.scalars(select(EventClaim)).one()
    assert record.claim.source == "qr" and record.device
    # A resent form records nothing new.
    phone.post(
        f"/events/{event.slug}/room/{wishes[0].public_id}",
        data={"name": "赵女士", "contact": "13700000001", "key": "room-1"},
    )
    assert db.session.scalar(select(func.count()).select_from(EventClaim)) == 1
    # The name and number come back filled in.
    again = phone.get(f"/events/{event.slug}/room").get_data(as_text=True)
    assert "赵女士" in again and "13700000001" in again
    # The per-device cap of this test is one claim.
    phone.post(
        f"/events/{event.slug}/room/{wishes[1].public_id}",
        data={"name": "赵女士", "contact": "13700000001", "key": "room-2"},
    )
    assert db.session.scalar(select(func.count()).select_from(EventClaim)) == 1
    # Another phone on the same address is not held back by the first one.
    other = client_for(app)
    other.get(f"/events/{event.slug}/room")
    other.post(
        f"/events/{event.slug}/room/{wishes[1].public_id}",
        data={"name": "钱先生", "contact": "13700000002", "key": "room-3"},
    )
    assert db.session.scalar(select(func.count()).select_from(EventClaim)) == 2


def test_a_forged_guest_cookie_is_ignored(app):
    event, _host, _wishes = make_event(wishes=1)
    phone = client_for(app)
    phone.set_cookie("event_guest", "eyJuYW1lIjoiSGFja2VyIn0.forged.sig")
    assert "Hacker" not in phone.get(f"/events/{event.slug}/room").get_data(as_text=True)


def test_the_demo_seeds_a_live_event_with_open_featured_wishes(runner, client):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    items = client.get("/api/v1/events").get_json()["items"]
    live = [i for i in items if i["status"] == "live"]
    assert [i["title"] for i in live] == ["六一儿童节微心愿认领活动"]
    board = client.get(live[0]["board_url"].replace("http://localhost", "")).status_code
    assert board == 200
    body = client.get(f"/api/v1/events/{live[0]['slug']}/board").get_json()
    open_wishes = [w for w in body["wishes"] if w["status"] == "published"]
    assert body["total"] >= 30 and len(open_wishes) >= 10
    assert {w["child"]["district"] for w in body["wishes"]} == {"崂山区王哥庄街道"}
    assert body["claimed"] == 12 and body["raised_fen"] == 200_000


def test_the_hosts_desk_leads_to_events_walls_and_posters(app):
    from funds import services as fund_services
    from tests.factories import make_fund

    event, host, _wishes = make_event(wishes=1)
    fund = make_fund()
    admin = make_user(Role.FUND_ADMIN)
    fund_services.create_campaign(
        admin,
        fund_services.CampaignInput(
            slug="registry", title="婚姻登记处爱心捐赠点", fund=fund.slug, description="", kind="couple"
        ),
    )
    fund_services.create_campaign(
        admin, fund_services.CampaignInput(slug="school-books", title="图书角", fund=fund.slug, description="")
    )
    db.session.commit()
    client = client_for(app)
    login(client, host)
    desk = client.get("/staff/").get_data(as_text=True)
    assert "/host/events" in desk
    page = client.get("/host/events").get_data(as_text=True)
    assert f"/events/{event.slug}/host" in page and "/campaigns/registry/wall" in page
    assert "/posters/campaign/registry" in page
    # Every campaign has a projector screen; only a couples' campaign has a wall.
    assert "/campaigns/registry/screen" in page and "/campaigns/school-books/screen" in page
    assert "/campaigns/school-books/wall" not in page
    for path in ("/campaigns/registry/wall", "/campaigns/registry/screen", "/campaigns/school-books/screen"):
        assert client.get(path).status_code == 200


def test_an_online_gift_to_the_events_campaign_adds_to_the_board_total(app):
    from funds import donations
    from funds import services as fund_services
    from funds.models import Campaign
    from tests.factories import make_fund
    from tests.payment_helpers import WEBHOOK_SECRET, configured, deliver, session_event

    fund = make_fund()
    admin = make_user(Role.FUND_ADMIN)
    fund_services.create_campaign(
        admin, fund_services.CampaignInput(slug="liuyi-gifts", title="六一现场爱心捐", fund=fund.slug, description="")
    )
    event, host, _wishes = make_event(wishes=1, status=EventStatus.DRAFT)
    services.update_event(
        host,
        event,
        services.EventInput(
            slug=event.slug, title=event.title, starts_at=event.starts_at, venue=event.venue, campaign="liuyi-gifts"
        ),
    )
    services.open_event(host, event)
    db.session.commit()
    client = client_for(app)
    assert "/donate/campaign/liuyi-gifts" in client.get(f"/events/{event.slug}/room").get_data(as_text=True)

    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "liuyi-gifts"))
    donation = donations.create_donation(
        donations.Target(fund, campaign=campaign),
        8800,
        donations.DonorInput(name="钱女士", contact="13800002222"),
        "card",
    )
    db.session.commit()
    with configured(app, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET):
        assert deliver(client, session_event(donation)) == "applied"
    body = client.get(f"/api/v1/events/{event.slug}/board").get_json()
    assert body["raised_fen"] == 8800
    message = db.session.scalars(select(EventMessage).where(EventMessage.kind == "donation")).one()
    assert message.data == {"amount_fen": 8800, "paddle": None}


def test_the_room_limit_counts_per_phone_not_per_shared_address(database_url, tmp_path):
    from tests.conftest import make_app

    event, _host, wishes = make_event(wishes=6)
    db.session.commit()
    app = make_app(
        database_url,
        tmp_path,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        EVENT_ROOM_RATE_LIMIT="2 per minute",
        CLAIM_RATE_LIMIT="2 per minute",
    )

    def phone_claims(phone, wish, n):
        phone.get(f"/events/{event.slug}/room")
        return phone.post(
            f"/events/{event.slug}/room/{wish.public_id}",
            data={"name": f"来宾{n}", "contact": f"1370000{n:04d}", "key": f"k{n}"},
        ).status_code

    # Five phones behind the hall's one address each claim: none is held back by the others.
    statuses = [phone_claims(client_for(app), wishes[n], n) for n in range(5)]
    assert statuses == [302] * 5
    # One phone trying again and again is.
    greedy = client_for(app)
    tries = [phone_claims(greedy, wishes[5], 10 + n) for n in range(3)]
    assert tries[-1] == 429


def test_the_stream_tail_serves_its_window_and_reads_the_table_for_older_resumes(monkeypatch):
    from events import stream

    monkeypatch.setattr(stream, "WINDOW", 2)
    event, host, _wishes = make_event(wishes=1)
    for _ in range(5):
        services.spotlight(host, event, None)
    db.session.commit()
    ids = list(db.session.scalars(select(EventMessage.id).order_by(EventMessage.id)))
    tail = stream.Tail(db.engine, poll=60)
    key = (event.id, event.created_at.timestamp())
    assert [m.id for m in tail.after(key, 0, 1)] == ids
    # The window now holds the last two; older resumes read the table, newer ones the window.
    reads = []
    real_read = tail._read_db
    monkeypatch.setattr(tail, "_read_db", lambda *args: reads.append(args) or real_read(*args))
    assert [m.id for m in tail.after(key, ids[1], 1)] == ids[2:]
    assert len(reads) == 1
    assert [m.id for m in tail.after(key, ids[3], 1)] == ids[4:]
    assert [m.id for m in tail.after(key, ids[4], 1)] == []
    assert len(reads) == 1
    assert tail.after(key, ids[3], 1)[0].text.startswith(f"id: {ids[4]}\nevent: spotlight\n")
