"""The projected board at 1920×1080: claims from a phone in the room and from the host console flip its tiles live."""

import os

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from events.models import EventClaim
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import assert_no_horizontal_scroll, reading
from tests.event_helpers import make_event
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

PROJECTOR = {"viewport": {"width": 1920, "height": 1080}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
PADDLES = [(12, "王建国", "13900000012"), (7, "李女士", "13900000007")]


def _open_board(new_context, slug):
    board = new_context(**PROJECTOR).new_page()
    board.goto(f"/events/{slug}/board")
    expect(board.locator(".tile")).to_have_count(board.locator(".tile").count())
    # The stream is open before anyone claims: the flip must come through it, not through a reload.
    expect(board.locator("#board")).to_have_attribute("data-live", "1")
    board.evaluate("() => { window.__notReloaded = true; }")
    return board


def _fits_the_screen(board):
    sizes = board.evaluate(
        "() => ({h: document.documentElement.scrollHeight, w: document.documentElement.scrollWidth,"
        " ih: innerHeight, iw: innerWidth})"
    )
    assert sizes["h"] <= sizes["ih"] and sizes["w"] <= sizes["iw"], sizes


def test_a_claim_from_a_phone_flips_the_tile_on_the_open_board(db, new_context, live_server):
    event, _host, wishes = make_event(wishes=20, slug="liuyi-board")
    target = wishes[3]
    board = _open_board(new_context, event.slug)
    _fits_the_screen(board)
    expect(board.locator("#claimed")).to_have_text("0")
    expect(board.locator("#total")).to_have_text("20")
    # Twenty wishes are more than one screen holds: the board pages through them.
    expect(board.locator("#pages")).to_have_text("1 / 2")

    phone = new_context(phone=True).new_page()
    phone.goto(f"/events/{event.slug}/room")
    assert_no_horizontal_scroll(phone)
    item = phone.locator(f".room-wish[data-wish='{target.public_id}']")
    item.locator("summary").click()
    item.locator("input[name=name]").fill("赵女士")
    item.locator("input[name=contact]").fill("13700000001")
    item.locator("button[type=submit]").click()
    expect(phone.locator(".flash-success")).to_be_visible()

    tile = board.locator(f".tile[data-wish='{target.public_id}']")
    expect(tile).to_have_class("tile is-claimed is-fresh", timeout=2000)
    # A name nobody chose to show is masked to the surname on the projector too.
    expect(tile.locator(".tile-claimer")).to_have_text("赵**")
    expect(board.locator("#claimed")).to_have_text("1")
    expect(board.locator("#ticker li").first).to_contain_text(target.title)
    assert board.evaluate("() => window.__notReloaded") is True

    # The phone remembers the name and number for the next claim.
    phone.goto(f"/events/{event.slug}/room")
    assert phone.locator("input[name=name]").first.input_value() == "赵女士"

    ARTIFACTS.mkdir(exist_ok=True)
    board.screenshot(path=ARTIFACTS / "event-board-1920x1080.png")
    if os.environ.get("BROWSER_SCREENSHOTS"):
        phone.screenshot(path=ARTIFACTS / "event-room-phone.png", full_page=True)


def test_the_host_console_records_a_paddle_claim_and_undoes_it(db, new_context, live_server):
    event, host, wishes = make_event(wishes=3, slug="liuyi-host", attendees=PADDLES)
    target = wishes[1]
    board = _open_board(new_context, event.slug)

    tablet = new_context(viewport={"width": 1024, "height": 768}, has_touch=True).new_page()
    tablet.goto("/login")
    form = tablet.locator("form[action='/login']")
    form.locator("input[name=email]").fill(host.email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    tablet.goto(f"/events/{event.slug}/host")
    tile = tablet.locator(f".host-tile[data-wish='{target.public_id}']")
    tile.locator("input[name=paddles]").fill("12 7")
    tile.locator("button", has_text="认领").first.click()
    expect(tablet.locator(".flash-success")).to_be_visible()

    on_board = board.locator(f".tile[data-wish='{target.public_id}']")
    expect(on_board.locator(".tile-claimer")).to_have_text("王建国 · 号牌 12", timeout=2000)

    tablet.locator("tr.event-claim button", has_text="撤销").click()
    expect(tablet.locator(".flash-success")).to_be_visible()
    # Undone: the tile is open again, and the first backup (paddle 7) is offered the wish.
    expect(on_board.locator(".tile-claimer")).to_have_text("", timeout=2000)
    expect(on_board.locator(".tile-offer")).to_contain_text("7")
    expect(board.locator("#claimed")).to_have_text("0")
    with reading(db) as session:
        record = session.scalars(select(EventClaim)).one()
        assert record.undone_at is not None
