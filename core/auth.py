"""Sign-in, role checks and safe redirects."""

import hashlib
import hmac
import time
from contextlib import contextmanager
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, request, session, url_for
from flask_login import current_user

from core.extensions import db, login_manager
from core.models import User


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's "<id>:<version>" opens the account only while the version is current."""
    user_key, _, version = user_id.partition(":")
    if not (user_key.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_key))
    if user is None or user.session_version != int(version):
        return None
    return user


def roles_required(*roles):
    """Server-side role check for a staff view; admins pass every check."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def safe_next(target: str | None, default_endpoint: str = "wishes.index") -> str:
    """Only a path on this site; anything with a scheme, host or backslash is refused."""
    if target:
        target = target.strip()
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
            and not any(ord(ch) < 32 for ch in target)
        ):
            return target
    return url_for(default_endpoint)


def account_key() -> str:
    """The rate-limit key of the account a sign-in or sign-up form names, whatever the client address."""
    return "account:" + (request.form.get("email") or "").strip().lower()


#: How long an answer that must not tell whether an address has an account takes at least.
STEADY_ANSWER_SECONDS = 0.1


@contextmanager
def steady_answer_time(seconds: float = STEADY_ANSWER_SECONDS):
    """The block takes at least `seconds`: what it did for a known address (a link made, a mail queued)
    and did not do for an unknown one does not show in the time the answer takes."""
    started = time.perf_counter()
    yield
    remaining = started + seconds - time.perf_counter()
    if remaining > 0:
        time.sleep(remaining)


def remember_cookie_name() -> str:
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")


def current_user_in_templates(app) -> None:
    """Templates read `current_user` as a global proxy that loads the user only when a template
    asks, instead of Flask-Login's context processor, which loads it for every render."""
    from flask_login import utils

    processors = app.template_context_processors[None]
    if utils._user_context_processor in processors:
        processors.remove(utils._user_context_processor)
    app.jinja_env.globals["current_user"] = current_user


def may_be_signed_in() -> bool:
    """Flask-Login's own evidence of a signed-in visitor, read without loading anyone: a user
    id in the session or a remember-me cookie. False means the visitor is anonymous."""
    return "_user_id" in session or remember_cookie_name() in request.cookies


def signed_in_account_key() -> str:
    """The rate-limit key of the signed-in account: the same bucket as sign-ins naming its e-mail."""
    email = current_user.email if current_user.is_authenticated else ""
    return "account:" + email.strip().lower()


def client_key(kind: str = "address", value: str | None = None) -> str:
    """Who is asking, as a key that caps can count without keeping the address itself.

    By default the client's address (after PROXY_COUNT proxies); a device cookie's value where
    a whole room shares one address. Keyed with SECRET_KEY: the stored key reveals neither.
    """
    raw = value if value is not None else (request.remote_addr or "")
    secret = current_app.secret_key
    secret = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(secret, f"{kind}:{raw}".encode(), hashlib.sha256)
    return f"{kind}:{digest.hexdigest()[:32]}"


def next_param() -> str | None:
    return request.args.get("next") or request.form.get("next")


#: Pages whose answers hold private data whoever asks: staff desks, a donor's own pages, a claim's manage page,
#: the pages that set or reset a password (the registration page names the address it creates), and the
#: pages behind a reminder's, a volunteer's or a mail preference's signed link.
PRIVATE_PREFIXES = (
    "/staff/",
    "/admin/",
    "/me/",
    "/claims/manage/",
    "/account/",
    "/password/",
    "/register/confirm/",
    "/reminder/",
    "/volunteer/",
    "/mail/",
)


def keep_out_of_caches(response):
    """After each request: a private page is never kept by a browser or a proxy (a shared office computer).

    Private are the pages under PRIVATE_PREFIXES and every answer to a signed-in visitor.
    """
    if request.path.startswith(PRIVATE_PREFIXES) or "_user_id" in session:
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Pragma"] = "no-cache"
    return response
