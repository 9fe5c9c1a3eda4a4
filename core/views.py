"""Health, sign-in and sign-out, one's own password (changed or reset), and the staff home page."""

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import text

from core import services
from core.api import api, openapi_document
from core.auth import (
    account_key,
    next_param,
    remember_cookie_name,
    roles_required,
    safe_next,
    signed_in_account_key,
    steady_answer_time,
)
from core.extensions import db, limiter
from core.forms import (
    ROLE_LABELS,
    ActionForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    NewUserForm,
    UserRolesForm,
)
from core.models import Role, User
from core.transactions import run_action, submit_form, transaction

bp = Blueprint("core", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return {"status": "unavailable"}, 503
    return {"status": "ok"}


def _address_limit():
    return limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])


def _password_guesses_limit(key_func, **options):
    """Password guesses at one account, through the sign-in form or a signed-in password change, share one budget."""
    return limiter.shared_limit(
        lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"],
        scope="password-guesses",
        key_func=key_func,
        methods=["POST"],
        **options,
    )


def _default_page(user: User) -> str:
    return "core.staff_home" if user.is_staff else "donors.my_claims"


@bp.route("/login", methods=["GET", "POST"])
@_address_limit()
@_password_guesses_limit(account_key)
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = next_param()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.AccountDeactivated as exc:
            user = None
            form.form_errors.append(str(exc.message))
        else:
            if user is None:
                form.password.errors.append(_("The e-mail or password is wrong."))
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(form.next.data, _default_page(user)))
    return render_template("core/login.html", form=form), 200 if request.method == "GET" or not form.errors else 422


@bp.post("/logout")
@login_required
def logout():
    services.end_sessions(current_user)
    db.session.commit()
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("wishes.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@_address_limit()
# Only a wrong current password counts: it is a guess at the password like a failed sign-in.
@_password_guesses_limit(signed_in_account_key, deduct_when=lambda response: g.get("wrong_password", False))
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        ok, _user = submit_form(
            form,
            lambda: services.change_own_password(user, form.current_password.data, form.password.data),
        )
        g.wrong_password = bool(form.current_password.errors)
        if ok:
            # Every session of the account ended; this browser carries on with a new one.
            login_user(user, remember=remember_cookie_name() in request.cookies)
            flash(_("Your password has been changed. Every other device has been signed out."), "success")
            return redirect(url_for(_default_page(user)))
    return render_template("core/password_change.html", form=form), 422 if form.errors else 200


@bp.route("/password/forgot", methods=["GET", "POST"])
@_address_limit()
@limiter.limit(lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"], key_func=account_key, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        with steady_answer_time(), transaction():
            services.request_password_reset(form.email.data)
        return redirect(url_for("core.reset_requested"))
    return render_template("core/password_forgot.html", form=form), 422 if form.errors else 200


@bp.get("/password/forgot/sent")
def reset_requested():
    return render_template("core/password_forgot_sent.html")


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@_address_limit()
def reset_password(token: str):
    try:
        services.user_for_reset(token)
    except services.ResetLinkInvalid as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("core.forgot_password"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            ok, user = submit_form(form, lambda: services.reset_password(token, form.password.data))
        except services.ResetLinkInvalid as exc:
            # The same link used at the same moment by another request.
            flash(str(exc.message), "error")
            return redirect(url_for("core.forgot_password"))
        if ok:
            login_user(user)
            flash(
                _("Your new password is set and you are signed in. Every other device has been signed out."), "success"
            )
            return redirect(url_for(_default_page(user)))
    return render_template("core/password_reset.html", form=form), 422 if form.errors else 200


@bp.get("/staff/")
@login_required
def staff_home():
    if not current_user.is_staff:
        abort(403)
    return render_template("core/staff_home.html")


@api.route(
    bp, "GET", "/api/v1/openapi.json", "This document", responses={200: ("The OpenAPI document", {"type": "object"})}
)
def openapi():
    return openapi_document("微心愿 Micro-wish API", "1.0.0")


@bp.route("/admin/users", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_users():
    form = NewUserForm()
    if form.validate_on_submit():
        ok, user = submit_form(
            form,
            lambda: services.create_user(
                form.email.data, form.password.data, form.display_name.data, roles=form.roles.data, actor=current_user
            ),
        )
        if ok:
            flash(_("Account created for %(email)s.", email=user.email), "success")
            return redirect(url_for("core.admin_users"))
    search = request.args.get("q", "")
    return render_template(
        "core/admin_users.html", users=services.list_users(search), search=search, form=form, role_labels=ROLE_LABELS
    ), 422 if form.errors else 200


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_user(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = UserRolesForm(data={"roles": sorted(user.roles), "active": user.active})
    if form.validate_on_submit():
        ok, _user = submit_form(
            form,
            lambda: (
                services.set_roles(current_user, user, form.roles.data),
                services.set_active(current_user, user, form.active.data),
            ),
        )
        if ok:
            if user.id == current_user.id:
                # A change of one's own roles ended one's sessions: this one carries on.
                login_user(user)
            flash(_("Saved."), "success")
            return redirect(url_for("core.admin_users"))
    page = render_template("core/admin_user.html", user=user, form=form, action_form=ActionForm())
    return page, 422 if form.errors else 200


@bp.post("/admin/users/<int:user_id>/password-reset")
@roles_required(Role.ADMIN)
def admin_send_reset(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    if not ActionForm().validate():
        abort(400)
    run_action(
        lambda: services.send_password_reset(current_user, user),
        _("A link to choose a new password was sent to %(email)s.", email=user.email),
    )
    return redirect(url_for("core.admin_user", user_id=user.id))
