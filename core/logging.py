"""Structured (JSON) logs: one line per request and per event, never a child's details."""

import logging
import sys
import time
import uuid

from flask import g, request
from pythonjsonlogger.json import JsonFormatter


class _RequestContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.request_id = g.get("request_id", "-")
        except RuntimeError:
            record.request_id = "-"
        return True


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

    access = logging.getLogger("weixinyuan.access")

    @app.before_request
    def _start():
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex[:16]
        g.started = time.perf_counter()

    @app.after_request
    def _log(response):
        # The path only, never the query string: tokens travel in some paths' queries.
        path = request.path
        if path.startswith("/claims/manage/"):
            path = "/claims/manage/…"
        access.info(
            "request",
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1),
            },
        )
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response
