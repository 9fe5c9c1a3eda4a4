"""The fund administrators' disbursement desk: request, approve, reject, see the receipt."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from core.auth import roles_required
from core.errors import DomainError, ValidationError
from core.extensions import db
from core.forms import ActionForm
from core.forms_util import apply_errors
from core.models import Role
from core.transactions import run_action, transaction
from core.uploads import discard_image, save_image, send_image
from funds import disbursements, queries
from funds.forms import DisbursementForm, RejectForm
from funds.models import DISBURSEMENT_KIND_LABELS, DISBURSEMENT_STATUS_LABELS, DisbursementStatus, Fund

bp = Blueprint("funds_disbursements", __name__, url_prefix="/staff/disbursements")


def _choices(form: DisbursementForm) -> None:
    form.fund.choices = [SelectChoice(f.slug, f.name) for f in queries.funds()]
    form.kind.choices = [SelectChoice(k.value, label) for k, label in DISBURSEMENT_KIND_LABELS.items()]
    form.project.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(p.id), _("%(name)s (%(detail)s)", name=p.title, detail=p.fund.name))
        for p in queries.projects(open_only=False)
    ]


@bp.get("")
@roles_required(Role.FUND_ADMIN)
def index():
    return render_template(
        "funds/disbursements.html",
        waiting=disbursements.waiting_for(current_user),
        rows=disbursements.of_fund(),
        kind_labels=DISBURSEMENT_KIND_LABELS,
        status_labels=DISBURSEMENT_STATUS_LABELS,
        threshold=disbursements.threshold(),
        action_form=ActionForm(),
        reject_form=RejectForm(),
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.FUND_ADMIN)
def new():
    form = DisbursementForm()
    _choices(form)
    if form.validate_on_submit():
        receipt = None
        try:
            with transaction():
                fund = db.session.scalar(select(Fund).where(Fund.slug == form.fund.data))
                if fund is None:
                    raise ValidationError(fields={"fund": _("Choose a fund.")})
                if form.receipt.data and getattr(form.receipt.data, "filename", ""):
                    receipt = save_image(form.receipt.data.stream, field="receipt")
                disbursement = disbursements.request(
                    current_user,
                    fund,
                    disbursements.DisbursementInput(
                        kind=form.kind.data,
                        amount_fen=form.amount.fen,
                        payee=form.payee.data,
                        purpose=form.purpose.data,
                        project_id=int(form.project.data) if (form.project.data or "").isdigit() else None,
                        wish=form.wish.data,
                        receipt=receipt,
                    ),
                )
        except ValidationError as exc:
            discard_image(receipt)
            apply_errors(form, exc, {"amount_fen": "amount", "project_id": "project", "wish": "wish"})
        except DomainError as exc:
            discard_image(receipt)
            form.form_errors.append(str(exc.message))
        except Exception:
            discard_image(receipt)
            raise
        else:
            if disbursement.status == DisbursementStatus.PAID:
                flash(_("Paid: the money has left the fund."), "success")
            else:
                flash(_("Requested: another fund administrator must approve it."), "success")
            return redirect(url_for("funds_disbursements.index"))
    status = 422 if (form.errors or form.form_errors) else 200
    return render_template("funds/disbursement_form.html", form=form, threshold=disbursements.threshold()), status


@bp.post("/<int:disbursement_id>/approve")
@roles_required(Role.FUND_ADMIN)
def approve(disbursement_id: int):
    form = ActionForm()
    if form.validate_on_submit():
        run_action(
            lambda: disbursements.approve(current_user, disbursements.get(disbursement_id)),
            _("Approved and paid."),
        )
    return redirect(url_for("funds_disbursements.index"))


@bp.post("/<int:disbursement_id>/reject")
@roles_required(Role.FUND_ADMIN)
def reject(disbursement_id: int):
    form = RejectForm()
    if not form.validate_on_submit():
        flash(_("Give the reason."), "error")
    else:
        run_action(
            lambda: disbursements.reject(current_user, disbursements.get(disbursement_id), form.reason.data),
            _("Rejected."),
        )
    return redirect(url_for("funds_disbursements.index"))


@bp.get("/<int:disbursement_id>/receipt-photo")
@roles_required(Role.FUND_ADMIN)
def receipt_photo(disbursement_id: int):
    return send_image(disbursements.get(disbursement_id).receipt)
