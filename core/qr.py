"""QR codes for anything with a public page: SVG for print, PNG for chat apps, cached by ETag."""

import hashlib
import io
from functools import lru_cache

import qrcode
import qrcode.image.svg
from flask import Response, request

#: Quartile error correction survives a folded or smudged poster.
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_Q


@lru_cache(maxsize=512)
def render(target: str, fmt: str) -> bytes:
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=10, border=4)
    code.add_data(target)
    code.make(fit=True)
    factory = qrcode.image.svg.SvgPathImage if fmt == "svg" else None
    image = code.make_image(image_factory=factory)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def image_response(key: str, make, mimetype: str, max_age: int, filename: str | None = None) -> Response:
    """A picture made from `key` alone: 304 to a client that has it (ETag of the key), else `make()`."""
    etag = hashlib.sha256(key.encode()).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        resp = Response(status=304)
    else:
        resp = Response(make(), mimetype=mimetype)
        if filename:
            resp.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = f"public, max-age={max_age}"
    return resp


def response(target: str, fmt: str) -> Response:
    mimetype = "image/svg+xml" if fmt == "svg" else "image/png"
    return image_response(f"{fmt}:{target}", lambda: render(target, fmt), mimetype, 86400)
