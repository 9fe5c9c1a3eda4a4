"""Share pictures: a portrait PNG with a title, a line or two and a QR code, that a donor saves
to the phone and posts in a WeChat moment or a chat. Only what the page itself shows publicly
goes on it; the caller decides which lines those are.

Chinese text needs a CJK font: SHARE_FONT names one, else the usual Noto CJK and WenQuanYi
files are looked for (Debian: `apt-get install fonts-noto-cjk`). Without any, the picture keeps
its QR code and draws the text with Pillow's own font, which has no Chinese glyphs.
"""

import io
from functools import lru_cache
from pathlib import Path

from flask import Response, current_app
from PIL import Image, ImageDraw, ImageFont

from core import qr

WIDTH, HEIGHT = 1080, 1440
RED = (200, 16, 46)
INK = (34, 34, 34)
MUTED = (102, 102, 102)
#: Where Debian and most Linux distributions keep a CJK font.
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


@lru_cache(maxsize=4)
def _font_file(configured: str) -> str | None:
    for candidate in (configured, *FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _font(size: int):
    path = _font_file(current_app.config.get("SHARE_FONT", ""))
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def _wrap(draw, text: str, font, width: int, max_lines: int) -> list[str]:
    """Lines of at most `width` pixels, breaking anywhere (Chinese has no spaces to break at)."""
    lines, line = [], ""
    for char in text:
        if draw.textlength(line + char, font=font) > width and line:
            lines.append(line)
            line = char.lstrip()
            if len(lines) == max_lines:
                lines[-1] = lines[-1][:-1] + "…"
                return lines
        else:
            line += char
    if line:
        lines.append(line)
    return lines


@lru_cache(maxsize=256)
def _render(brand: str, title: str, lines: tuple[str, ...], target: str, caption: str, font_key: str) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 150), fill=RED)
    draw.text((70, 75), brand, font=_font(64), fill="white", anchor="lm")
    y = 210
    title_font = _font(76)
    for line in _wrap(draw, title, title_font, WIDTH - 140, 2):
        draw.text((70, y), line, font=title_font, fill=INK)
        y += 100
    y += 10
    for text in lines:
        draw.text((70, y), text, font=_font(46), fill=MUTED)
        y += 66
    code = Image.open(io.BytesIO(qr.render(target, "png"))).convert("RGB").resize((600, 600), Image.NEAREST)
    top = max(y + 30, HEIGHT - 600 - 230)
    image.paste(code, ((WIDTH - 600) // 2, top))
    draw.text((WIDTH // 2, top + 640), caption, font=_font(52), fill=RED, anchor="mm")
    draw.text((WIDTH // 2, HEIGHT - 50), target, font=_font(28), fill=MUTED, anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def card(brand: str, title: str, lines: list[str], target: str, caption: str) -> bytes:
    font_key = _font_file(current_app.config.get("SHARE_FONT", "")) or ""
    return _render(brand, title, tuple(lines), target, caption, font_key)


def response(brand: str, title: str, lines: list[str], target: str, caption: str, filename: str) -> Response:
    key = "\n".join(("share", brand, title, *lines, target, caption))
    return qr.image_response(key, lambda: card(brand, title, lines, target, caption), "image/png", 3600, filename)
