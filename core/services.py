"""Accounts: creating users, granting roles, checking a sign-in, ending sessions."""

import secrets

from flask_babel import gettext as _
from sqlalchemy import func, select

from core import audit, models
from core.errors import ValidationError
from core.extensions import db
from core.models import Role, User, UserRole

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


def create_user(
    email: str, password: str | None, display_name: str, roles=(), actor="system", phone=None, password_hash=None
) -> User:
    """A new account; `password_hash` instead of `password` when the password was hashed earlier."""
    email = email.strip().lower()
    fields = check_account_fields(email, None if password_hash else password or "", display_name, roles)
    if "email" not in fields and find_user(email):
        fields["email"] = _("An account with this e-mail already exists.")
    if fields:
        raise ValidationError(fields=fields)
    user = User(email=email, display_name=display_name.strip(), phone=phone)
    if password_hash:
        user.password_hash = password_hash
    else:
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


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.created_at.desc())))


def change_password(user: User, new_password: str, actor="self") -> User:
    """A new password ends every session of the account, the one that changed it included."""
    if len(new_password or "") < MIN_PASSWORD:
        raise ValidationError(
            fields={"password": _("The password must have at least %(n)d characters.", n=MIN_PASSWORD)}
        )
    user.set_password(new_password)
    user.end_sessions()
    db.session.flush()
    audit.record("user.password_changed", user, actor)
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


def authenticate(email: str, password: str) -> User | None:
    """Unknown and inactive accounts cost one password check like any other, so timing tells nothing."""
    user = find_user(email)
    if user is None:
        models.check_password_hash(_dummy_password_hash(), password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    return user
