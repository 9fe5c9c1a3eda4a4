"""Sign-in, role checks and safe redirects."""

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, request, session, url_for
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


def next_param() -> str | None:
    return request.args.get("next") or request.form.get("next")


#: Pages whose answers hold private data whoever asks: staff desks, a donor's own pages, a claim's manage page.
PRIVATE_PREFIXES = ("/staff/", "/admin/", "/me/", "/claims/manage/", "/reminder/", "/volunteer/", "/mail/")


def keep_out_of_caches(response):
    """After each request: a private page is never kept by a browser or a proxy (a shared office computer).

    Private are the pages under PRIVATE_PREFIXES and every answer to a signed-in visitor.
    """
    if request.path.startswith(PRIVATE_PREFIXES) or "_user_id" in session:
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Pragma"] = "no-cache"
    return response
