"""Staff pages and exports speak plain Chinese: no codes from the database on a Chinese page.

With the demo programme seeded, each staff role signs in and follows every link it can
reach from the staff desk (pages and the CSV, XLSX and PDF exports they offer), in zh_CN.
Nothing a reader sees may be an internal token: an audit action (`wish.drafted`), an
account code (`asset:stripe`), a ledger source key (`donation:…:succeeded`), a state move
(`draft → submitted`), a snake_case slug (`bank_transfer`) or any stored status value
(`submitted`, `claimed`) as a word in Latin letters. Labels come from the label tables
(core/i18n.label_of, the *_LABELS of each package) and wishes/history.py.
"""

import csv
import io
import re
from collections import Counter, deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest

from core.extensions import db as _db
from core.models import Role, User
from core.outbox import NotificationStatus
from demo.data import DEMO_PASSWORD, seed_demo
from donors.models import DonorKind
from events.models import EventStatus
from funds.models import (
    CampaignKind,
    Channel,
    DisbursementKind,
    DisbursementStatus,
    DonationStatus,
    ProjectStatus,
)
from payments.models import Outcome
from reconcile.models import ItemStatus, RunStatus
from reminders import jobs
from reminders.models import JobResult, ProposalStatus
from wishes.models import ChildCategory, ClaimSource, ClaimStatus, FulfilmentMode, Gender, WishCategory, WishStatus

STATUS_ENUMS = [
    WishStatus,
    ClaimStatus,
    ClaimSource,
    FulfilmentMode,
    DonationStatus,
    Channel,
    ProjectStatus,
    DisbursementStatus,
    EventStatus,
    NotificationStatus,
    ProposalStatus,
    JobResult,
    Outcome,
    RunStatus,
    ItemStatus,
    # The kinds and categories stored beside them, shown through their labels as well.
    DonorKind,
    CampaignKind,
    DisbursementKind,
    ChildCategory,
    Gender,
    WishCategory,
]
ENUM_WORDS = sorted({str(member) for enum in STATUS_ENUMS for member in enum}, key=len, reverse=True)

#: (what it is, pattern) — each a code that only the database should ever see.
INTERNAL = [
    ("an audit action", re.compile(r"\b[a-z]+\.[a-z]+(?:_[a-z]+)*\b")),
    ("an account code", re.compile(r"\b(?:asset|liability|income|expense|net_assets|equity):[\w:-]+")),
    ("a ledger source key", re.compile(r"\b(?:donation|stripe|refund|disbursement|fee|bank|payout|wish):[\w-]+")),
    ("a state move", re.compile(r"\b[a-z_]+\s*(?:→|->)\s*[a-z_]+\b")),
    ("a snake_case slug", re.compile(r"\b[a-z]+_[a-z_]+\b")),
    ("a stored status", re.compile(r"(?<![A-Za-z0-9_.@/-])(?:" + "|".join(ENUM_WORDS) + r")(?![A-Za-z0-9_@/-])")),
]
#: Addresses and links are what they are; a demo e-mail address is not a code.
NOT_WORDS = re.compile(r"[\w.*+-]+@[\w.-]+|https?://\S+|/[\w./?=&%-]+")

STAFF_ROLES = [Role.CASEWORKER, Role.SUPERVISOR, Role.FUND_ADMIN, Role.HOST, Role.ADMIN]
#: The signed-in part of the site; the public pages have their own tests.
FOLLOW = re.compile(r"^/(staff|admin|host|events/[^/]+/host|me|account)\b")
#: Links that end a session, change the language, stream forever or serve pictures.
SKIP = re.compile(r"^/(logout|static/|api/)|/stream\b|\.(png|svg|jpe?g|webp|ico)$|/qr|/poster|/photo|[?&]lang=")
MAX_PAGES = 600
VARIANTS = 4


class _Page(HTMLParser):
    """The words a reader sees (text, button values, placeholders, titles) and the links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.words, self.links, self._skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        # Downloads offered as a form's button (the signed statement) or a GET form.
        if attrs.get("formaction"):
            self.links.append(attrs["formaction"])
        if tag == "form" and (attrs.get("method") or "get").lower() == "get" and attrs.get("action"):
            self.links.append(attrs["action"])
        for name in ("title", "placeholder", "aria-label", "alt"):
            if attrs.get(name):
                self.words.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.words.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.words.append(data)


def _export_text(response) -> str:
    kind = response.mimetype
    if kind == "text/csv":
        return "\n".join(" ".join(row) for row in csv.reader(io.StringIO(response.get_data(as_text=True))))
    if kind.endswith("spreadsheetml.sheet"):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(response.data), read_only=True)
        cells = [sheet.title for sheet in book.worksheets]
        for sheet in book.worksheets:
            cells.extend(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None)
        return "\n".join(cells)
    if kind == "application/pdf":
        from pypdf import PdfReader

        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(response.data)).pages)
    return ""


#: Receipts and couples' certificates are Chinese and English by design: an English "gift"
#: there is a word, not a stored value; codes are still refused.
BILINGUAL = re.compile(r"^/donations/[^/]+/(receipt|certificate)\.pdf$")


def internal_tokens(text: str, bilingual: bool = False) -> list[tuple[str, str]]:
    text = NOT_WORDS.sub(" ", text)
    patterns = INTERNAL[:-1] if bilingual else INTERNAL
    return [(what, m.group(0)) for what, pattern in patterns for m in pattern.finditer(text)]


def test_the_check_finds_codes_and_passes_plain_words():
    for code in ["wish.drafted", "asset:stripe", "donation:abc:succeeded", "draft → submitted", "bank_transfer"]:
        assert internal_tokens(f"记录：{code}"), code
    assert internal_tokens("状态 submitted") and internal_tokens("（claimed）")
    assert not internal_tokens("王芳 已提交审核 2026年12月2日 · ¥120 caseworker@demo.weixinyuan.org")
    assert not internal_tokens("Stripe 对账 · 微信支付 · /staff/wishes?status=published")


@pytest.fixture
def demo(app, db):
    seed_demo()
    _db.session.commit()
    _db.session.remove()
    # One run on record, so the jobs page shows a result too.
    jobs.run_job(app, jobs.job_named("deliver-mail"))


def _crawl(client, start=("/staff/",)) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    seen, queue = set(start), deque(start)
    # A few query variants of one page (filters, the month before) show its words; the
    # month before that, and before that, do not.
    variants = Counter(urlsplit(url).path for url in start)
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        response = client.get(url, headers={"Accept-Language": "zh-CN"})
        assert response.status_code < 500, f"{url} answered {response.status_code}"
        if response.status_code != 200:
            continue
        if response.mimetype == "text/html":
            page = _Page()
            page.feed(response.get_data(as_text=True))
            text = "\n".join(page.words)
            for href in page.links:
                href = urldefrag(href).url
                parts = urlsplit(href)
                if parts.scheme or parts.netloc or not FOLLOW.search(href) or SKIP.search(href) or href in seen:
                    continue
                if variants[parts.path] >= VARIANTS:
                    continue
                variants[parts.path] += 1
                seen.add(href)
                queue.append(href)
        else:
            text = _export_text(response)
        if bad := internal_tokens(text, bilingual=bool(BILINGUAL.search(url))):
            found[url] = bad
    return found


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_staff_pages_and_exports_show_no_internal_codes(app, client, demo, role):
    user = _db.session.scalars(select_user(role)).first()
    response = client.post("/login", data={"email": user.email, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    client.set_cookie("lang", "zh_CN")
    found = _crawl(client)
    assert not found, "Show labels, not codes:\n" + "\n".join(f"{url}: {bad[:6]}" for url, bad in found.items())


def test_a_donors_pages_receipts_and_certificates_show_no_internal_codes(app, client, demo):
    from sqlalchemy import select

    from funds.models import Donation

    succeeded = _db.session.scalars(select(Donation).where(Donation.status == DonationStatus.SUCCEEDED)).all()
    exports = [f"/donations/{d.public_id}/receipt.pdf" for d in succeeded]
    exports += [f"/donations/{d.public_id}/certificate.pdf" for d in succeeded if d.partner_name]
    assert exports and any("certificate" in url for url in exports)
    user = _db.session.scalars(select_user(Role.DONOR)).first()
    assert client.post("/login", data={"email": user.email, "password": DEMO_PASSWORD}).status_code == 302
    client.set_cookie("lang", "zh_CN")
    found = _crawl(client, ("/me/claims", "/me/donations", *exports))
    assert not found, "Show labels, not codes:\n" + "\n".join(f"{url}: {bad[:6]}" for url, bad in found.items())


def select_user(role):
    from sqlalchemy import select

    from core.models import UserRole

    return select(User).join(UserRole).where(UserRole.role == role, User.email.like("%@demo.weixinyuan.org"))
