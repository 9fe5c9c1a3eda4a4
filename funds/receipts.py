"""Donation receipts (捐赠收据), the couples' certificate (爱心证书) and the couples' wall.

Both PDFs are bilingual whatever the visitor's language: Chinese first, English below.
Chinese is set in reportlab's built-in CID font STSong-Light, so there is no font file to
ship; Latin text in Helvetica. Neither PDF ever names a child.
"""

from datetime import datetime
from io import BytesIO

from flask import Blueprint, current_app, make_response, render_template, request, url_for
from pydantic import BaseModel, Field
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4, A5, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from core import dates
from core.api import Schema, api
from core.errors import NotFound
from core.money import is_whole
from core.urls import public_url
from funds import queries
from funds.donations import get_donation
from funds.models import Channel, Donation, DonationStatus

bp = Blueprint("funds_receipts", __name__)

PLATFORM = ("微心愿", "Micro-wish")
CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
RED = HexColor("#c8102e")
GOLD = HexColor("#b8860b")
INK = HexColor("#222222")
MUTED = HexColor("#6b6b6b")
LINE = HexColor("#e4e0dc")

#: A receipt stays printable after a partial refund; a failed, pending or wholly returned gift has none.
PRINTABLE_STATUSES = (DonationStatus.SUCCEEDED, DonationStatus.PARTIALLY_REFUNDED)

CHANNEL_NAMES = {
    Channel.CARD: ("银行卡", "Bank card"),
    Channel.ALIPAY: ("支付宝", "Alipay"),
    Channel.WECHAT_PAY: ("微信支付", "WeChat Pay"),
    Channel.CASH: ("现金", "Cash"),
    Channel.BANK_TRANSFER: ("银行转账", "Bank transfer"),
    Channel.CHEQUE: ("支票", "Cheque"),
}

# --- amounts in Chinese capital numerals (大写) -------------------------------------------------

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("仟", "佰", "拾", "")
_SECTIONS = ("", "万", "亿", "万亿")


def _section(number: int) -> str:
    """0 < number < 10000; inner zeros collapse to one 零, trailing zeros vanish."""
    out, zero = "", False
    for place, digit in zip(_PLACES, f"{number:04d}", strict=True):
        if digit == "0":
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[int(digit)] + place
    return out


def _integer(number: int) -> str:
    sections = []
    while number:
        sections.append(number % 10000)
        number //= 10000
    if len(sections) > len(_SECTIONS):
        raise ValueError("amount too large")
    out, gap = "", False
    for index in range(len(sections) - 1, -1, -1):
        value = sections[index]
        if value == 0:
            gap = bool(out)
            continue
        # A skipped section or a section shorter than four digits leaves a hole to mark with 零.
        if out and (gap or value < 1000):
            out += "零"
        out += _section(value) + _SECTIONS[index]
        gap = False
    return out


def amount_in_words(fen: int) -> str:
    """82000 yuan -> 捌万贰仟元整; 100000.05 -> 壹拾万元零伍分 (the rules of bank cheques)."""
    if not is_whole(fen) or fen < 0:
        raise ValueError("amount must be a non-negative whole number of fen")
    yuan, jiao, cents = fen // 100, fen // 10 % 10, fen % 10
    out = _integer(yuan) + "元" if yuan else ""
    if not jiao and not cents:
        return (out or "零元") + "整"
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif yuan:
        out += "零"
    return out + (_DIGITS[cents] + "分" if cents else "整")


# --- which donations have papers ------------------------------------------------------------------


def printable_donation(public_id: str, *, certificate: bool = False) -> Donation:
    """The donation behind a receipt or certificate link; NotFound unless the money arrived."""
    donation = get_donation(public_id)
    if donation.status not in PRINTABLE_STATUSES or not donation.receipt_no:
        raise NotFound()
    if certificate and not has_certificate(donation):
        raise NotFound()
    return donation


def has_certificate(donation: Donation) -> bool:
    return donation.donor_kind == "couple" and bool(donation.partner_name)


def has_receipt(donation: Donation) -> bool:
    return donation.status in PRINTABLE_STATUSES and bool(donation.receipt_no)


# --- drawing ----------------------------------------------------------------------------------------


def _fonts() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _is_latin(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _runs(text: str) -> list[tuple[str, str]]:
    """Split text into runs for Helvetica (what cp1252 holds) and STSong (everything else)."""
    runs: list[tuple[str, str]] = []
    for char in text:
        font = LATIN_FONT if _is_latin(char) else CJK_FONT
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + char)
        else:
            runs.append((font, char))
    return runs


def _width(text: str, size: float) -> float:
    return sum(pdfmetrics.stringWidth(part, font, size) for font, part in _runs(text))


def _fit(text: str, size: float, room: float, smallest: float = 7) -> float:
    while size > smallest and _width(text, size) > room:
        size -= 0.5
    return size


def _draw(
    c: Canvas, x: float, y: float, text: str, size: float, *, align: str = "left", color: Color = INK, font=None
) -> None:
    """Mixed Chinese and Latin text on one baseline, each run in a font that has its glyphs."""
    runs = [(font, text)] if font else _runs(text)
    width = sum(pdfmetrics.stringWidth(part, f, size) for f, part in runs)
    if align == "center":
        x -= width / 2
    elif align == "right":
        x -= width
    c.setFillColor(color)
    for f, part in runs:
        c.setFont(f, size)
        c.drawString(x, y, part)
        x += pdfmetrics.stringWidth(part, f, size)


def _dates(moment: datetime) -> tuple[str, str]:
    return dates.day(moment, "zh_CN"), dates.day(moment, "en")


def _figures(fen: int, currency: str) -> str:
    """Receipts always show the fen: ¥82,000.00."""
    symbol = {"CNY": "¥", "USD": "$", "HKD": "HK$", "EUR": "€"}.get(currency, currency + " ")
    return f"{symbol}{fen // 100:,}.{fen % 100:02d}"


def _donors(donation: Donation) -> str:
    if donation.partner_name:
        return f"{donation.name} & {donation.partner_name}"
    return donation.name


def _purpose(donation: Donation) -> str | None:
    parts = [
        p
        for p in (
            donation.project.title if donation.project else None,
            donation.campaign.title if donation.campaign else None,
        )
        if p
    ]
    return " · ".join(parts) or None


def _pdf(page_size, title: str, draw) -> bytes:
    _fonts()
    buffer = BytesIO()
    c = Canvas(buffer, pagesize=page_size, pageCompression=1)
    c.setTitle(title)
    c.setAuthor(f"{PLATFORM[0]} {PLATFORM[1]}")
    c.setCreator(f"{PLATFORM[0]} {PLATFORM[1]}")
    draw(c, *page_size)
    c.showPage()
    c.save()
    return buffer.getvalue()


def _simulated_mark(c: Canvas, width: float, height: float) -> None:
    """Across a paper of a donation paid in the offline simulator: it proves no payment."""
    c.saveState()
    c.translate(width / 2, height / 2)
    c.rotate(18)
    _draw(
        c, 0, 8, "模拟支付 · 无真实付款", 26, align="center", color=Color(0.78, 0.06, 0.18, alpha=0.35), font=CJK_FONT
    )
    _draw(c, 0, -16, "SIMULATED · NO REAL PAYMENT", 16, align="center", color=Color(0.78, 0.06, 0.18, alpha=0.35))
    c.restoreState()


def receipt_pdf(donation: Donation) -> bytes:
    """An A5 landscape receipt: number, date, donor, amount in figures and 大写, fund, channel."""

    def draw(c: Canvas, width: float, height: float) -> None:
        margin = 22
        c.setStrokeColor(RED)
        c.setLineWidth(1.2)
        c.rect(margin, margin, width - 2 * margin, height - 2 * margin)
        c.setFillColor(RED)
        c.rect(margin, height - margin - 6, width - 2 * margin, 6, stroke=0, fill=1)

        left, right = margin + 20, width - margin - 20
        top = height - margin - 26
        _draw(c, left, top, PLATFORM[0], 11, color=RED)
        _draw(c, left, top - 11, PLATFORM[1], 7.5, color=MUTED)
        _draw(c, right, top, f"No. {donation.receipt_no}", 11, align="right", font=LATIN_FONT)
        _draw(c, right, top - 11, "收据编号 Receipt number", 7.5, align="right", color=MUTED)
        _draw(c, width / 2, top - 12, "捐赠收据", 22, align="center", color=RED, font=CJK_FONT)
        _draw(c, width / 2, top - 27, "DONATION RECEIPT", 8.5, align="center", color=MUTED, font=LATIN_FONT)
        if donation.simulated:
            _simulated_mark(c, width, height)

        zh_date, en_date = _dates(donation.succeeded_at or donation.created_at)
        rows = [
            ("捐赠日期", "Date", f"{zh_date}  {en_date}"),
            ("捐赠人", "Donor" if not donation.partner_name else "Donors", _donors(donation)),
            ("金额（小写）", "Amount", _figures(donation.amount_fen, donation.currency)),
            (
                "金额（大写）",
                "Amount in words",
                ("人民币" if donation.currency == "CNY" else "") + amount_in_words(donation.amount_fen),
            ),
            ("受赠基金", "Fund", donation.fund.name),
        ]
        purpose = _purpose(donation)
        if purpose:
            rows.append(("项目 / 活动", "Project / campaign", purpose))
        zh_channel, en_channel = CHANNEL_NAMES.get(donation.channel, (donation.channel, donation.channel))
        rows.append(("支付方式", "Payment channel", f"{zh_channel}  {en_channel}"))
        if donation.refunded_fen:
            rows.append(("已退款", "Refunded", _figures(donation.refunded_fen, donation.currency)))

        y = top - 58
        step = min(27.0, (y - margin - 62) / len(rows))
        value_x = left + 118
        for zh, en, value in rows:
            _draw(c, left, y, zh, 10.5, font=CJK_FONT)
            _draw(c, left, y - 10, en, 7, color=MUTED, font=LATIN_FONT)
            _draw(c, value_x, y - 4, value, _fit(value, 12, right - value_x))
            c.setStrokeColor(LINE)
            c.setLineWidth(0.6)
            c.line(left, y - 15, right, y - 15)
            y -= step

        bottom = margin + 16
        _draw(c, left, bottom + 16, "感谢您的爱心捐赠！每一分善款都将用于帮助困境儿童。", 9.5, font=CJK_FONT)
        _draw(
            c,
            left,
            bottom + 5,
            "Thank you for your kindness. Every fen goes to children in difficulty.",
            7.5,
            color=MUTED,
            font=LATIN_FONT,
        )
        _draw(c, right, bottom + 16, f"开具：{PLATFORM[0]}公益平台", 9.5, align="right", font=CJK_FONT)
        _draw(
            c,
            right,
            bottom + 5,
            f"Issued by the {PLATFORM[1]} platform",
            7.5,
            align="right",
            color=MUTED,
            font=LATIN_FONT,
        )

    return _pdf(landscape(A5), f"捐赠收据 Donation receipt {donation.receipt_no}", draw)


def certificate_pdf(donation: Donation) -> bytes:
    """The newlyweds' A4 landscape certificate: their names (or 爱心人士), the date, the cause."""

    def draw(c: Canvas, width: float, height: float) -> None:
        c.setFillColor(HexColor("#fffaf2"))
        c.rect(0, 0, width, height, stroke=0, fill=1)
        c.setStrokeColor(RED)
        c.setLineWidth(3)
        c.rect(24, 24, width - 48, height - 48)
        c.setStrokeColor(GOLD)
        c.setLineWidth(0.8)
        c.rect(34, 34, width - 68, height - 68)
        if donation.simulated:
            _simulated_mark(c, width, height)
        for x, y in ((34, 34), (width - 34, 34), (34, height - 34), (width - 34, height - 34)):
            c.setFillColor(RED)
            c.circle(x, y, 5, stroke=0, fill=1)

        middle = width / 2
        _draw(c, middle, height - 108, "爱心证书", 42, align="center", color=RED, font=CJK_FONT)
        _draw(c, middle, height - 136, "Certificate of Love", 16, align="center", color=GOLD, font="Helvetica-Oblique")
        c.setStrokeColor(GOLD)
        c.setLineWidth(1.4)
        c.circle(middle - 6, height - 162, 8)
        c.circle(middle + 6, height - 162, 8)

        _draw(c, middle, height - 198, "兹证明", 13, align="center", font=CJK_FONT)
        _draw(c, middle, height - 212, "This is to certify that", 9, align="center", color=MUTED, font=LATIN_FONT)
        names = "爱心人士" if donation.anonymous else _donors(donation)
        _draw(c, middle, height - 258, names, _fit(names, 32, width - 200, 14), align="center")
        c.setStrokeColor(GOLD)
        c.setLineWidth(0.8)
        c.line(middle - 200, height - 272, middle + 200, height - 272)

        zh_date, en_date = _dates(donation.succeeded_at or donation.created_at)
        cause = donation.campaign.title if donation.campaign else donation.fund.name
        line_zh = f"于{zh_date}新婚之际，共同向「{donation.fund.name}」献出爱心，"
        _draw(c, middle, height - 314, line_zh, _fit(line_zh, 15, width - 160), align="center")
        _draw(c, middle, height - 338, "以一份礼物，守护困境儿童的微心愿。", 15, align="center", font=CJK_FONT)
        line_en = f"On the day of their wedding, {en_date}, they gave together to {donation.fund.name},"
        _draw(c, middle, height - 362, line_en, _fit(line_en, 10.5, width - 160), align="center", color=MUTED)
        _draw(
            c,
            middle,
            height - 377,
            "one gift to make the small wishes of children in difficulty come true.",
            10.5,
            align="center",
            color=MUTED,
            font=LATIN_FONT,
        )

        _draw(
            c,
            middle,
            height - 428,
            "愿爱与善意伴你们一生，也伴每一个孩子长大。",
            14,
            align="center",
            color=RED,
            font=CJK_FONT,
        )
        _draw(
            c,
            middle,
            height - 447,
            "May love and kindness stay with you always, and with every child you helped.",
            10,
            align="center",
            color=GOLD,
            font="Helvetica-Oblique",
        )

        base = 72
        _draw(c, 80, base + 14, f"日期  {zh_date}", 11)
        _draw(c, 80, base, f"Date  {en_date}", 8.5, color=MUTED, font=LATIN_FONT)
        _draw(c, width - 80, base + 14, f"证书编号  {donation.receipt_no}", 11, align="right")
        _draw(
            c,
            width - 80,
            base,
            f"Certificate No.  {donation.receipt_no}",
            8.5,
            align="right",
            color=MUTED,
            font=LATIN_FONT,
        )
        _draw(c, middle, base + 14, cause, _fit(cause, 11, 300), align="center")
        _draw(c, middle, base, f"{PLATFORM[0]} · {PLATFORM[1]}", 8.5, align="center", color=MUTED)

    return _pdf(landscape(A4), f"爱心证书 Certificate of Love {donation.receipt_no}", draw)


# --- routes -----------------------------------------------------------------------------------------


def _attachment(body: bytes, filename: str):
    response = make_response(body)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/donations/<public_id>/receipt.pdf")
def receipt(public_id: str):
    donation = printable_donation(public_id)
    return _attachment(receipt_pdf(donation), f"receipt-{donation.receipt_no}.pdf")


@bp.get("/donations/<public_id>/certificate.pdf")
def certificate(public_id: str):
    donation = printable_donation(public_id, certificate=True)
    return _attachment(certificate_pdf(donation), f"certificate-{donation.receipt_no}.pdf")


class WallQuery(Schema):
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(24, ge=1, le=100)


class WallEntryOut(BaseModel):
    name: str = Field(description="The couple's public name, or 爱心人士 when they asked to stay anonymous")
    at: datetime


class WallCampaignOut(BaseModel):
    slug: str
    title: str
    url: str


class WallOut(BaseModel):
    campaign: WallCampaignOut
    total_fen: int = Field(description="Net money kept: succeeded donations less refunds and open disputes")
    currency: str
    couples: int
    items: list[WallEntryOut]
    next: str | None


@bp.get("/campaigns/<slug>/wall")
def wall(slug: str):
    page = request.args.get("page", 1, type=int)
    data = queries.campaign_wall(slug, max(1, min(page, 100_000)))
    return render_template(
        "funds/wall.html",
        wall=data,
        give_url=_url_if_served("funds.public_campaign", slug=slug),
        qr_url=_url_if_served("funds.campaign_qr", slug=slug, fmt="svg"),
        # The projector view belongs to the events package, which a deployment may leave out.
        screen_url=_url_if_served("events.campaign_screen", slug=slug),
    )


def _url_if_served(endpoint: str, **values) -> str | None:
    # The campaign page and its QR belong to the public fund pages, which a deployment may leave out.
    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


@api.route(
    bp,
    "GET",
    "/api/v1/campaigns/<slug>/wall",
    "A couples' campaign wall: the running total, the number of couples, the latest public names",
    query=WallQuery,
    responses={
        200: ("The wall", WallOut),
        404: ("No such couples' campaign", None),
        422: ("A parameter is not valid", None),
    },
)
def wall_api(slug: str, q: WallQuery):
    data = queries.campaign_wall(slug, q.page, q.per_page)
    next_url = (
        public_url("funds_receipts.wall_api", slug=slug, page=q.page + 1, per_page=q.per_page)
        if data.has_next
        else None
    )
    body = WallOut(
        campaign=WallCampaignOut(
            slug=data.campaign.slug, title=data.campaign.title, url=public_url("funds_receipts.wall", slug=slug)
        ),
        total_fen=data.total_fen,
        currency=data.currency,
        couples=data.couples,
        items=[WallEntryOut(name=e.name, at=e.at) for e in data.items],
        next=next_url,
    )
    return body.model_dump(mode="json")
