"""Image uploads: checked by content, size-limited, re-encoded without EXIF, kept outside static/."""

import io
import re
from pathlib import Path

from flask import current_app, send_file
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import NotFound, ValidationError
from core.ids import new_token

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
STORED_NAME = re.compile(r"^[A-Za-z0-9_-]{20,64}\.jpg$")


def _folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_image(stream, field: str = "photo") -> str:
    """Store an uploaded image as a fresh JPEG and return its stored name."""
    data = stream.read(current_app.config["UPLOAD_MAX_BYTES"] + 1)
    if len(data) > current_app.config["UPLOAD_MAX_BYTES"]:
        raise ValidationError(
            fields={field: _("The photo may be at most %(n)d MB.", n=current_app.config["UPLOAD_MAX_BYTES"] // 2**20)}
        )
    if not data:
        raise ValidationError(fields={field: _("The photo is empty.")})
    Image.MAX_IMAGE_PIXELS = current_app.config["UPLOAD_MAX_PIXELS"]
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise ValidationError(fields={field: _("Upload a JPEG, PNG, WebP or GIF photo.")})
            # Pillow only warns below twice its limit; a photo this large is refused before it is decoded.
            if probe.width * probe.height > current_app.config["UPLOAD_MAX_PIXELS"]:
                raise ValidationError(fields={field: _("The photo has too many pixels; send a smaller one.")})
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGB")
            image.thumbnail((2000, 2000))
            out = io.BytesIO()
            # A fresh encode carries no EXIF (place, time, device) and no hidden payload.
            image.save(out, format="JPEG", quality=85, optimize=True)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(fields={field: _("This file is not a photo we can read.")}) from None
    name = new_token() + ".jpg"
    (_folder() / name).write_bytes(out.getvalue())
    return name


def discard_image(name: str | None) -> None:
    """Remove a stored image nothing points to any more (its request failed, or it was replaced)."""
    if name and STORED_NAME.match(name):
        (_folder() / name).unlink(missing_ok=True)


def send_image(name: str | None):
    if not name or not STORED_NAME.match(name):
        raise NotFound()
    path = _folder() / name
    if not path.is_file():
        raise NotFound()
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, no-store"
    return response
