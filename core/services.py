"""Accounts: creating users, granting roles, checking a sign-in, ending sessions, changing and resetting passwords."""

import hashlib
import hmac
import secrets

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select, update

from core import audit, models
from core.errors import DomainError, Forbidden, ValidationError
from core.extensions import db
from core.models import Role, User, UserRole
from core.outbox import queue_notification
from core.urls import public_url

MIN_PASSWORD = 8


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def check_account_fields(email: str, password: str | None, display_name: str, roles=()) -> dict:
    """What is wrong with a new account's fields, leaving aside whether the e-mail is taken."""
    email = (email or "").strip().lower()
    fields = {}
    if not email or "@" not in email or len(email) > 254:
        fields["email"] = _("Give a valid e-mail address.")
    if password is not None and len(password) < MIN_PASSWORD:
        fields["password"] = _("The password must have at least %(n)d characters.", n=MIN_PASSWORD)
    if not display_name or len(display_name) > 60:
        fields["display_name"] = _("Give a name of at most 60 characters.")
    bad_roles = [r for r in roles if r not in Role.__members__.values()]
    if bad_roles:
        fields["role"] = _("Unknown role: %(roles)s", roles=", ".join(bad_roles))
    return fields


def create_user(email: str, password: str, display_name: str, roles=(), actor="system", phone=None) -> User:
    email = email.strip().lower()
    fields = check_account_fields(email, password or "", display_name, roles)
    if "email" not in fields and find_user(email):
        fields["email"] = _("An account with this e-mail already exists.")
    if fields:
        raise ValidationError(fields=fields)
    user = User(email=email, display_name=display_name.strip(), phone=phone)
    user.set_password(password)
    user.role_rows = [UserRole(role=str(Role(r))) for r in dict.fromkeys(roles)]
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", user, actor, after={"roles": sorted(user.roles)})
    return user


def grant_role(user: User, role: str, actor="system") -> User:
    role = str(Role(role))
    if role not in user.roles:
        before = sorted(user.roles)
        user.role_rows.append(UserRole(role=role))
        user.end_sessions()
        db.session.flush()
        audit.record("user.role_granted", user, actor, before={"roles": before}, after={"roles": sorted(user.roles)})
    return user


def set_roles(actor: User, user: User, roles) -> User:
    """Replace a user's roles; an admin cannot take their own admin role away."""
    wanted = set()
    for role in roles:
        try:
            wanted.add(str(Role(role)))
        except ValueError:
            raise ValidationError(fields={"roles": _("Unknown role: %(roles)s", roles=role)}) from None
    if user.id == actor.id and Role.ADMIN in user.roles and Role.ADMIN not in wanted:
        raise ValidationError(fields={"roles": _("You cannot remove your own admin role.")})
    before = sorted(user.roles)
    if set(before) == wanted:
        return user
    user.role_rows = [row for row in user.role_rows if row.role in wanted]
    for role in sorted(wanted - set(before)):
        user.role_rows.append(UserRole(role=role))
    user.end_sessions()
    db.session.flush()
    audit.record("user.roles_set", user, actor, before={"roles": before}, after={"roles": sorted(user.roles)})
    return user


def set_active(actor: User, user: User, active: bool) -> User:
    if user.id == actor.id and not active:
        raise ValidationError(fields={"active": _("You cannot deactivate your own account.")})
    if user.active != active:
        user.active = active
        user.end_sessions()
        db.session.flush()
        audit.record("user.activated" if active else "user.deactivated", user, actor)
    return user


def list_users(search: str | None = None, limit: int = 200) -> list[User]:
    """Accounts, newest first; `search` finds a part of an e-mail address or a name."""
    query = select(User).order_by(User.created_at.desc()).limit(limit)
    words = (search or "").strip()[:100]
    if words:
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(User.email.ilike(pattern, escape="\\"), User.display_name.ilike(pattern, escape="\\")))
    return list(db.session.scalars(query))


def send_password_reset(actor: User, user: User) -> None:
    """An administrator sends an account its reset link (the owner still chooses the password)."""
    if not actor.has_role(Role.ADMIN):
        raise Forbidden()
    if not user.active:
        raise ValidationError(_("Reactivate the account before sending it a reset link."))
    request_password_reset(user.email)
    audit.record("user.password_reset_sent", user, actor)


def change_password(user: User, new_password: str, actor="self") -> User:
    """A new password ends every session of the account, the one that changed it included."""
    error = _password_error(new_password)
    if error:
        raise error
    user.set_password(new_password)
    user.end_sessions()
    db.session.flush()
    audit.record("user.password_changed", user, actor)
    return user


def _password_error(password: str | None) -> ValidationError | None:
    if len(password or "") < MIN_PASSWORD:
        return ValidationError(
            fields={"password": _("The password must have at least %(n)d characters.", n=MIN_PASSWORD)}
        )
    return None


def _tell_owner_password_changed(user: User) -> None:
    """The owner hears of every new password, so a change they did not make does not go unnoticed."""
    queue_notification(
        kind="password_changed",
        recipient=user.email,
        subject=_("Your 微心愿 password was changed"),
        body=_(
            "The password of your 微心愿 account was changed, and every device signed in to it was signed out. "
            "If you did not do this, choose a new password at once at %(url)s and tell the platform's team.",
            url=public_url("core.forgot_password"),
        ),
        # The version rises with every change, so each change is told once.
        dedupe_key=f"password-changed:{user.id}:{user.session_version}",
    )


def change_own_password(user: User, current_password: str, new_password: str) -> User:
    """A signed-in user's new password: the current one first, then every session ends and the owner is told."""
    if not user.check_password(current_password or ""):
        raise ValidationError(fields={"current_password": _("The current password is wrong.")})
    change_password(user, new_password, actor=user)
    _tell_owner_password_changed(user)
    return user


class ResetLinkInvalid(DomainError):
    status = 404
    code = "reset_link_invalid"


_RESET_SALT = "password-reset"


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_RESET_SALT)


def _password_fingerprint(user_id: int, password_hash: str, session_version: int) -> str:
    """Binds a reset link to the password and sessions it was made for, and tells nothing about the hash.

    Keyed with SECRET_KEY: whoever reads the link cannot test guesses of the password against it.
    A new password or a new session version (a sign-out, a role change) gives a new fingerprint,
    so every link made before is dead.
    """
    secret = current_app.secret_key
    secret = secret.encode() if isinstance(secret, str) else secret
    message = f"{user_id}:{session_version}:{password_hash}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def _reset_token(user_id: int, password_hash: str, session_version: int) -> str:
    return _reset_serializer().dumps(
        {"u": user_id, "f": _password_fingerprint(user_id, password_hash, session_version)}
    )


_UNKNOWN_ACCOUNT = (0, "-", 0)


def request_password_reset(email: str) -> None:
    """Mail an active account a reset link; the visitor learns nothing about whether the address has one.

    An unknown or inactive address makes a token too (and throws it away), so both paths do the
    same work but the outbox row; the view answers both in the same steady time besides.
    """
    user = find_user(email or "")
    if user is None or not user.active:
        _reset_token(*_UNKNOWN_ACCOUNT)
        return
    token = _reset_token(user.id, user.password_hash, user.session_version)
    queue_notification(
        kind="password_reset",
        recipient=user.email,
        subject=_("Choose a new 微心愿 password"),
        body=_(
            "Someone (we hope you) asked to choose a new password for your 微心愿 account. Follow this link "
            "within %(minutes)d minutes to do so: %(url)s It works once. If you did not ask, ignore this "
            "message: your password stays as it is.",
            minutes=current_app.config["PASSWORD_RESET_LINK_MINUTES"],
            url=public_url("core.reset_password", token=token),
        ),
        dedupe_key="password-reset:" + hashlib.sha256(token.encode()).hexdigest()[:40],
    )


def user_for_reset(token: str) -> User:
    """The account a reset link was made for, while the link is fresh and its password and sessions unchanged."""
    max_age = current_app.config["PASSWORD_RESET_LINK_MINUTES"] * 60
    try:
        data = _reset_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise ResetLinkInvalid(_("This link has expired. Ask for a new one.")) from None
    except BadSignature:
        raise ResetLinkInvalid(_("This link is not valid. Ask for a new one.")) from None
    user_id = data.get("u") if isinstance(data, dict) else None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if (
        user is None
        or not user.active
        or not hmac.compare_digest(
            _password_fingerprint(user.id, user.password_hash, user.session_version), str(data.get("f"))
        )
    ):
        raise ResetLinkInvalid(_("This link has been used or is no longer valid. Ask for a new one."))
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set a new password through a reset link; it works once, ends every session and tells the owner.

    The update is conditional on the password and session version the link was checked against:
    of two requests with one link, only the one whose update touched the row sets a password.
    """
    user = user_for_reset(token)
    error = _password_error(new_password)
    if error:
        raise error
    before_hash, before_version = user.password_hash, user.session_version
    result = db.session.execute(
        update(User)
        .where(User.id == user.id, User.password_hash == before_hash, User.session_version == before_version)
        .values(password_hash=models.generate_password_hash(new_password), session_version=before_version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ResetLinkInvalid(_("This link has been used or is no longer valid. Ask for a new one."))
    db.session.refresh(user)
    audit.record("user.password_reset", user, user)
    _tell_owner_password_changed(user)
    return user


def end_sessions(user: User) -> None:
    """Signing out ends the account's every session, so a copied cookie is worthless afterwards."""
    user.end_sessions()
    db.session.flush()


_dummy_hashes: dict = {}


def _dummy_password_hash() -> str:
    # Made by the same function (and so the same method and cost) as the stored hashes.
    make = models.generate_password_hash
    if make not in _dummy_hashes:
        _dummy_hashes[make] = make(secrets.token_urlsafe(16))
    return _dummy_hashes[make]


class AccountDeactivated(DomainError):
    status = 403
    code = "account_deactivated"
    default_message = _l("This account is deactivated. Ask the platform's administrator to reactivate it.")


def authenticate(email: str, password: str) -> User | None:
    """Unknown and inactive accounts cost one password check like any other, so timing tells nothing."""
    user = find_user(email)
    if user is None:
        models.check_password_hash(_dummy_password_hash(), password or "")
        return None
    if not user.check_password(password or ""):
        return None
    if not user.active:
        # Only someone who knows the password learns this, and they are told why they cannot enter.
        raise AccountDeactivated()
    return user
