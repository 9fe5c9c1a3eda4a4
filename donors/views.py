"""Donor sign-up and the donor's own pages of claims and donations."""

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from core.extensions import limiter
from core.transactions import submit_form
from donors import services
from donors.forms import RegisterForm
from funds import queries as fund_queries
from funds import receipts
from wishes.services import claims_of

bp = Blueprint("donors", __name__)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("donors.my_claims"))
    form = RegisterForm()
    if form.validate_on_submit():
        ok, user = submit_form(
            form,
            lambda: services.register_donor(
                email=form.email.data,
                password=form.password.data,
                display_name=form.display_name.data,
                kind=form.kind.data,
                public_name=form.public_name.data,
            ),
        )
        if ok:
            login_user(user)
            flash(_("Welcome! Claims you make while signed in are kept here."), "success")
            return redirect(url_for("donors.my_claims"))
    return render_template("donors/register.html", form=form), 422 if form.errors else 200


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
