"""Locale choice (zh_CN first, en) and the helpers templates use."""

from functools import lru_cache

from babel import Locale
from flask import current_app, g, has_request_context, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from core import dates
from core.clock import utcnow
from core.money import format_money
from core.urls import public_url

LOGIN_MESSAGE = _l("Please sign in to see that page.")
#: How a donor who chose anonymity is shown everywhere in public (爱心人士).
ANONYMOUS_NAME = _l("A caring donor")
COOKIE = "lang"
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


@lru_cache(maxsize=16)
def _parsed(name: str) -> Locale:
    # Parsing "zh_CN" costs Babel far more than a whole cached page; do it once per name.
    return Locale.parse(name)


def select_locale() -> Locale:
    languages = current_app.config["LANGUAGES"]
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return _parsed(default)
    # Read from the request itself: the CSRF check answers before any before_request hook.
    # `in` first: werkzeug's get() answers a missing key by raising and catching an exception.
    args, cookies = request.args, request.cookies
    choice = (args.get("lang") if "lang" in args else None) or (cookies.get(COOKIE) if COOKIE in cookies else None)
    if choice not in languages:
        choice = request.accept_languages.best_match(languages, default=default)
    return _parsed(choice)


def current_locale() -> str:
    """The language by its configured name (Babel reads zh_CN as zh_Hans_CN).

    Asked a dozen times by every page: the locale Flask-Babel keeps for the request (or that
    `force_locale` set) is read straight from where it keeps it, and asked for once."""
    kept = g.get("_flask_babel")
    locale = getattr(kept, "babel_locale", None) or get_locale()
    return "zh_CN" if locale.language == "zh" else "en"


def persist_locale_choice(response):
    if not has_request_context() or "lang" not in request.args:
        return response
    choice = request.args.get("lang")
    if choice in current_app.config["LANGUAGES"]:
        response.set_cookie(COOKIE, choice, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def label_of(table: dict):
    """A template helper that shows a stored value by its label, or the value itself if it has none."""

    def label(value):
        try:
            return table[value]
        except KeyError:
            return value

    return label


def contact_link(value: str | None) -> Markup:
    """A phone number a staff member can tap to call, an address they can tap to write to."""
    value = (value or "").strip()
    if not value:
        return Markup("")
    if "@" in value:
        return Markup('<a href="mailto:{0}">{0}</a>').format(value)
    digits = "".join(ch for ch in value if ch.isdigit() or ch == "+")
    if digits.isdigit() and len(digits) == 11 and digits.startswith("1"):
        digits = "+86" + digits
    return Markup('<a href="tel:{0}">{1}</a>').format(digits, value)


def register_template_helpers(app) -> None:
    def url_with(**changes):
        """The current URL with some query parameters replaced."""
        args = request.args.to_dict()
        args.update({k: v for k, v in changes.items()})
        return url_for(request.endpoint, **(request.view_args or {}), **args)

    app.jinja_env.globals.update(
        url_with=url_with,
        public_url=public_url,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        utcnow=utcnow,
        current_locale=current_locale,
    )
    app.jinja_env.filters.update(
        contact_link=contact_link,
        money=lambda fen, currency="CNY": format_money(fen, currency),
        **dates.FILTERS,
    )
