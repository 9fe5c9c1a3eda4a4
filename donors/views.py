"""Donor sign-up and the donor's own pages of claims and donations."""

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from core.auth import account_key, steady_answer_time
from core.extensions import limiter
from core.transactions import submit_form
from donors import services
from donors.forms import ConfirmRegistrationForm, RegisterForm
from funds import queries as fund_queries
from funds import receipts
from wishes.services import claims_of

bp = Blueprint("donors", __name__)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"], key_func=account_key, methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("donors.my_claims"))
    form = RegisterForm()
    if form.validate_on_submit():
        with steady_answer_time():
            ok, _result = submit_form(
                form,
                lambda: services.start_registration(
                    email=form.email.data,
                    display_name=form.display_name.data,
                    kind=form.kind.data,
                    public_name=form.public_name.data,
                ),
            )
        if ok:
            return redirect(url_for("donors.registration_sent"))
    return render_template("donors/register.html", form=form), 422 if form.errors else 200


@bp.get("/register/sent")
def registration_sent():
    return render_template("donors/register_sent.html")


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def confirm_registration(token: str):
    # A GET only shows the form: mail scanners that fetch links must not create the account.
    try:
        data = services.read_registration(token)
    except services.RegistrationLinkInvalid as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("donors.register"))
    form = ConfirmRegistrationForm()
    if not form.validate_on_submit():
        page = render_template("donors/register_confirm.html", form=form, email=data["e"])
        return page, 422 if form.errors else 200
    try:
        ok, user = submit_form(form, lambda: services.confirm_registration(token, form.password.data))
    except services.RegistrationLinkInvalid as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("donors.register"))
    if not ok:
        return render_template("donors/register_confirm.html", form=form, email=data["e"]), 422
    if user is None:
        flash(_("This account has been created already. Please sign in."), "info")
        return redirect(url_for("core.login"))
    login_user(user)
    flash(_("Welcome! Claims you make while signed in are kept here."), "success")
    return redirect(url_for("donors.my_claims"))


@bp.get("/me/claims")
@login_required
def my_claims():
    return render_template("donors/my_claims.html", claims=claims_of(current_user))


@bp.get("/me/donations")
@login_required
def my_donations():
    return render_template(
        "donors/my_donations.html",
        donations=fund_queries.donations_of(current_user),
        has_receipt=receipts.has_receipt,
        has_certificate=receipts.has_certificate,
    )
