"""Health, sign-in and sign-out, and the staff home page."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import text

from core import services
from core.api import openapi_document
from core.auth import next_param, safe_next
from core.extensions import db, limiter
from core.forms import LoginForm

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
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("wishes.index"))


@bp.get("/staff/")
@login_required
def staff_home():
    if not current_user.is_staff:
        return redirect(url_for("donors.my_claims"))
    return render_template("core/staff_home.html")


@bp.get("/api/v1/openapi.json")
def openapi():
    return openapi_document("微心愿 Micro-wish API", "1.0.0")
