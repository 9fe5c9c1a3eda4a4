"""Health, sign-in and sign-out, and the staff home page."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import text

from core import services
from core.api import api, openapi_document
from core.auth import account_key, next_param, roles_required, safe_next
from core.extensions import db, limiter
from core.forms import ROLE_LABELS, LoginForm, NewUserForm, UserRolesForm
from core.models import Role, User
from core.transactions import submit_form

bp = Blueprint("core", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return {"status": "unavailable"}, 503
    return {"status": "ok"}


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"], key_func=account_key, methods=["POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = next_param()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("The e-mail or password is wrong."))
        else:
            login_user(user, remember=form.remember.data)
            default = "core.staff_home" if user.is_staff else "donors.my_claims"
            return redirect(safe_next(form.next.data, default))
    return render_template("core/login.html", form=form), 200 if request.method == "GET" or not form.errors else 422


@bp.post("/logout")
@login_required
def logout():
    services.end_sessions(current_user)
    db.session.commit()
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("wishes.index"))


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
    return render_template(
        "core/admin_users.html", users=services.list_users(), form=form, role_labels=ROLE_LABELS
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
    return render_template("core/admin_user.html", user=user, form=form), 422 if form.errors else 200
