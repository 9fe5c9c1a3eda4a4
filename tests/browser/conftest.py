"""Real-browser fixtures: Debian's chromium driven by playwright against a live server.

The browser is launched once per session from /usr/bin/chromium (playwright never
downloads its own). Each test gets fresh browser contexts, so no cookies leak
between tests. When a test fails, every page it opened is saved as a PNG under
test-artifacts/; set BROWSER_SCREENSHOTS=1 to keep the screenshots that tests take
on purpose as well.
"""

import os
import re
from contextlib import suppress
from pathlib import Path

import pytest

from tests.conftest import LiveServer, make_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
#: An ordinary phone held upright (the size of an iPhone 12–15).
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
#: Milliseconds a single action or assertion may wait: a local page answers in far less.
ACTION_TIMEOUT_MS = 5_000
NAVIGATION_TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def browser_app(app, database_url, tmp_path_factory):
    """The same database as `app`, served with CSRF protection on, as in production."""
    # The site `make run` serves: the simulator pays, and what it pays shows on the public pages.
    return make_app(database_url, tmp_path_factory.mktemp("browser-app"), WTF_CSRF_ENABLED=True, DEMO_SITE=True)


@pytest.fixture(scope="session")
def _browser_server(browser_app):
    with LiveServer(browser_app) as server:
        # Links the app prints (the private manage link) must lead back to this server.
        browser_app.config["PUBLIC_BASE_URL"] = server.url
        yield server


@pytest.fixture
def live_server(_browser_server):
    """A real threaded server on a loopback port, shared by the session's browser tests."""
    return _browser_server


def _safe_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1]).strip("_")[:120]


@pytest.fixture
def new_context(browser, live_server, request):
    """Open a fresh browser context (its own cookies) on the live server: new_context(phone=True)."""
    contexts = []
    #: What the Content-Security-Policy blocked on any page: a page that needs an inline script
    #: or style to work is broken for real visitors.
    blocked: list[str] = []

    def watch(page):
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)

    def open_context(phone: bool = False, **options):
        settings = {**(PHONE if phone else DESKTOP), "base_url": live_server.url, **options}
        context = browser.new_context(**settings)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        context.on("page", watch)
        contexts.append(context)
        return context

    yield open_context

    report = getattr(request.node, "rep_call", None)
    failed = report is not None and report.failed
    for c, context in enumerate(contexts):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            for p, page in enumerate(context.pages):
                # A screenshot that cannot be taken must never hide the real failure.
                with suppress(Exception):
                    page.screenshot(
                        path=ARTIFACTS / f"FAILED-{_safe_name(request.node.nodeid)}-{c}-{p}.png", full_page=True
                    )
        context.close()
    assert not blocked, f"the Content-Security-Policy blocked: {blocked[:3]}"


@pytest.fixture
def page(new_context):
    """A desktop-sized page in a fresh context."""
    return new_context().new_page()


@pytest.fixture
def phone_context(new_context):
    """A fresh phone-sized context: 390×844, touch, 2× pixels, zh-CN."""
    return new_context(phone=True)


@pytest.fixture
def phone_page(phone_context):
    return phone_context.new_page()


@pytest.fixture
def snap(request):
    """snap(page, "name"): keep a full-page screenshot when BROWSER_SCREENSHOTS is set."""

    def take(page, name: str) -> None:
        if os.environ.get("BROWSER_SCREENSHOTS"):
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"{_safe_name(request.node.name)}-{name}.png", full_page=True)

    return take
