"""The webhook's Flask view, and the fund administrator's payment review queue."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.auth import roles_required
from core.errors import DomainError, ValidationError
from core.extensions import csrf, db
from core.forms_util import apply_errors
from core.models import Role
from core.transactions import transaction
from payments import gateway, intake, reviews
from payments.forms import ReviewResolveForm

bp = Blueprint("payments", __name__)

STAFF = "/staff"


@bp.post(intake.PATH)
@csrf.exempt
def stripe_webhook():
    """What the WSGI layer in front of Flask passed on (payments.intake): answered with the app's own errors."""
    event = gateway.verify(request.get_data(), request.headers.get("Stripe-Signature"))
    return intake.answer(event, intake.store_event(db.engine, event))


def dashboard_panel() -> tuple[str, dict]:
    """The review queue's button and count on the fund administrator's dashboard."""
    return "payments/_dashboard_panel.html", {"open_reviews": reviews.payment_review_counts()["open"]}


@bp.get(f"{STAFF}/payments/reviews")
@roles_required(Role.FUND_ADMIN)
def admin_reviews():
    resolved = request.args.get("state") == "resolved"
    return render_template(
        "payments/admin_reviews.html",
        rows=reviews.payment_reviews(resolved=resolved),
        counts=reviews.payment_review_counts(),
        resolved=resolved,
    )


@bp.route(f"{STAFF}/payments/reviews/<int:review_id>", methods=["GET", "POST"])
@roles_required(Role.FUND_ADMIN)
def admin_review(review_id: int):
    row = reviews.payment_review(review_id)
    form = ReviewResolveForm()
    if form.validate_on_submit():
        try:
            with transaction():
                reviews.resolve_review(current_user, row.review, form.note.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except DomainError as exc:
            form.form_errors.append(str(exc.message))
        else:
            flash(_("The review is resolved."), "success")
            return redirect(url_for("payments.admin_reviews"))
        row = reviews.payment_review(review_id)
    status = 422 if (form.errors or form.form_errors) else 200
    return render_template(
        "payments/admin_review.html",
        row=row,
        form=form,
        payload=reviews.event_payload_text(row.event),
        hidden=reviews.HIDDEN,
    ), status
