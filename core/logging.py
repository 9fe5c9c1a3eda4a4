"""Structured (JSON) logs, one line per request and per event, never a child's details; and what
every answer carries whichever layer wrote it: its request id and the security headers."""

import logging
import random
import sys
import time

from flask import g, request
from pythonjsonlogger.json import JsonFormatter

from core.redact import mask_path

#: What a page may load and run: only the site's own files. No inline script, style or handler
#: runs ('unsafe-inline' is absent), so an injected <script> or onerror= does nothing; forms post
#: to the site itself, whose answer may send the donor on to Stripe Checkout.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self' https://checkout.stripe.com",
    )
)
#: Browser features no page of the site uses, switched off for it and anything it could embed.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), browsing-topics=()"
)

#: Every answer carries these, whichever layer wrote it.
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("Permissions-Policy", PERMISSIONS_POLICY),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)

access = logging.getLogger("weixinyuan.access")


class _RequestContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is not None:
            return True  # given by a layer that runs outside Flask's request context
        try:
            record.request_id = g.get("request_id", "-")
        except RuntimeError:
            record.request_id = "-"
        return True


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID (at most 64 characters), or a new one.

    A new one is 64 random bits in hex: it tells requests apart in the logs and guards nothing,
    so it comes from the process's generator (reseeded in every forked worker) rather than from
    a system call for each request."""
    return (header or "")[:64] or f"{random.getrandbits(64):016x}"  # nosec B311


def log_request(method: str, path: str, status: int, started: float, request_id: str | None = None) -> None:
    """The access line of one request: the path only, never the query string (tokens travel
    in some paths' queries)."""
    if not access.isEnabledFor(logging.INFO):
        return
    extra = {
        "method": method,
        "path": mask_path(path),
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if request_id is not None:
        extra["request_id"] = request_id
    access.info("request", extra=extra)


def configure_logging(app) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if app.config["LOG_JSON"]:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"levelname": "level", "asctime": "time"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    handler.addFilter(_RequestContext())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_weixinyuan", False):
            root.removeHandler(existing)
    handler._weixinyuan = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    @app.before_request
    def _start():
        g.request_id = request_id_from(request.environ.get("HTTP_X_REQUEST_ID"))
        g.started = time.perf_counter()

    @app.after_request
    def _log(response):
        log_request(request.method, request.path, response.status_code, g.get("started", time.perf_counter()))
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response
