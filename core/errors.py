"""Domain errors raised by services, and how the web turns them into responses."""

import logging
import traceback

from flask import jsonify, make_response, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    code = "bad_request"
    default_message = _l("The request could not be processed.")

    def __init__(self, message=None, fields: dict | None = None):
        self.message = message or self.default_message
        self.fields = fields or {}
        super().__init__(str(self.message))


class ValidationError(DomainError):
    status = 422
    code = "validation_error"
    default_message = _l("Some fields are not valid.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _l("Not found.")


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = _l("You may not do that.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _l("Someone else changed this first.")


class LimitReached(DomainError):
    """A cap on what one person may hold at a time (not a rate: waiting does not lift it)."""

    status = 429
    code = "limit_reached"
    default_message = _l("You have reached the limit.")


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = _l("That step is not possible in the current state.")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/stripe/")


def api_error(status: int, code: str, message, fields: dict | None = None):
    body = {"error": {"code": code, "message": str(message), "fields": fields or {}}}
    return jsonify(body), status


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}

_HTTP_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Please sign in first."),
    403: _l("You do not have permission to see this page."),
    404: _l("We could not find that page."),
    405: _l("That method is not allowed here."),
    413: _l("The upload is too large."),
    429: _l("Too many requests. Please wait a moment and try again."),
    500: _l("Something went wrong on our side. Please try again later."),
}


def _render_error(status: int, message, fields=None, code=None):
    if wants_json():
        return api_error(status, code or _HTTP_CODES.get(status, "error"), message, fields)
    return render_template("errors/error.html", status=status, message=message), status


def _log_unhandled(exc: Exception) -> None:
    if isinstance(exc, DBAPIError):
        # A driver's message can quote the row it refused ("Failing row contains …", "Key (…)=(…)"):
        # log what kind of error it was and where, never its text.
        logger.error(
            "database error",
            extra={
                "path": request.path,
                "error": type(exc.orig).__name__,
                "sqlstate": getattr(exc.orig, "sqlstate", None),
                "traceback": "".join(traceback.format_tb(exc.__traceback__)),
            },
        )
        return
    logger.exception("unhandled error", extra={"path": request.path})


def register_error_handlers(app):
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        from core.extensions import db

        db.session.rollback()
        return _render_error(exc.status, exc.message, exc.fields, exc.code)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        message = _HTTP_MESSAGES.get(status, exc.description)
        if isinstance(exc, CSRFError):
            message = gettext("The form expired. Please go back, reload the page and try again.")
        body, code = _render_error(status, message)
        response = make_response(body, code)
        if status == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        if status == 429 and exc.response is not None and "Retry-After" in exc.response.headers:
            response.headers["Retry-After"] = exc.response.headers["Retry-After"]
        return response

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):
        from core.extensions import db

        _log_unhandled(exc)
        db.session.rollback()
        return _render_error(500, _HTTP_MESSAGES[500], code="internal_error")
