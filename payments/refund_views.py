"""The fund administrator's refund of an online donation: a confirmation, then Stripe."""

import secrets

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.auth import roles_required
from core.errors import DomainError, NotFound, ValidationError
from core.extensions import db
from core.models import Role
from core.transactions import transaction
from funds.models import Donation
from payments import refunds
from payments.forms import RefundConfirmForm

bp = Blueprint("payments_refunds", __name__)


def _donation(donation_id: int) -> Donation:
    donation = db.session.get(Donation, donation_id)
    if donation is None:
        raise NotFound()
    return donation


@bp.route("/staff/donations/<int:donation_id>/refund/stripe", methods=["GET", "POST"])
@roles_required(Role.FUND_ADMIN)
def refund(donation_id: int):
    donation = _donation(donation_id)
    form = RefundConfirmForm()
    if request.method == "GET":
        form.amount.data = f"{refunds.refundable_fen(donation) / 100:.2f}"
        form.nonce.data = secrets.token_hex(16)
    elif form.validate_on_submit():
        try:
            with transaction():
                refunds.request_refund(current_user, donation, form.amount.fen, form.nonce.data)
        except ValidationError as exc:
            form.form_errors.append(str(exc.fields.get("amount") or exc.message))
        except DomainError as exc:
            form.form_errors.append(str(exc.message))
        else:
            flash(_("Stripe accepted the refund. The ledger shows it once Stripe confirms it."), "success")
            return redirect(url_for("funds.admin_donations", slug=donation.fund.slug))
    status = 422 if (form.errors or form.form_errors) else 200
    return render_template("payments/refund_confirm.html", form=form, donation=donation), status
