"""The fund administrator's reconciliation desk: runs against Stripe, their items, resolving and closing."""

import csv
import io

from flask import Blueprint, Response, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.auth import roles_required
from core.errors import DomainError, ValidationError
from core.extensions import db
from core.forms import ActionForm
from core.forms_util import apply_errors
from core.models import Role
from core.transactions import run_action, transaction
from reconcile import services
from reconcile.forms import ResolveForm, StripeRunForm
from reconcile.models import ReconcileRun

bp = Blueprint("reconcile", __name__, url_prefix="/staff/reconcile")


def kind_label(kind: str) -> str:
    return {
        "missing_here": _("Missing here"),
        "missing_there": _("Missing at Stripe"),
        "amount_mismatch": _("Amount mismatch"),
        "duplicate": _("Duplicate"),
    }.get(kind, kind)


def dashboard_panel() -> tuple[str, dict]:
    """The reconciliation desk's button and its open items on the fund administrator's dashboard."""
    return "reconcile/_dashboard_panel.html", {"open_items": services.open_item_count()}


@bp.get("")
@roles_required(Role.FUND_ADMIN)
def index():
    runs = db.session.scalars(select(ReconcileRun).order_by(ReconcileRun.id.desc()).limit(50)).all()
    return render_template(
        "reconcile/index.html",
        runs=runs,
        form=StripeRunForm(),
        stripe_on=bool(current_app.config.get("STRIPE_SECRET_KEY")),
    )


@bp.post("/stripe")
@roles_required(Role.FUND_ADMIN)
def start_stripe():
    form = StripeRunForm()
    if form.validate_on_submit():
        try:
            with transaction():
                run = services.run_stripe(current_user, form.since.data, form.until.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except DomainError as exc:
            form.form_errors.append(str(exc.message))
        else:
            return redirect(url_for("reconcile.run", run_id=run.id))
    runs = db.session.scalars(select(ReconcileRun).order_by(ReconcileRun.id.desc()).limit(50)).all()
    return render_template(
        "reconcile/index.html",
        runs=runs,
        form=form,
        stripe_on=bool(current_app.config.get("STRIPE_SECRET_KEY")),
    ), 422


@bp.get("/<int:run_id>")
@roles_required(Role.FUND_ADMIN)
def run(run_id: int):
    found = services.get_run(run_id)
    return render_template(
        "reconcile/run.html",
        run=found,
        open_items=services.open_items(found),
        resolve_form=ResolveForm(),
        action_form=ActionForm(),
        kind_label=kind_label,
    )


@bp.post("/items/<int:item_id>/resolve")
@roles_required(Role.FUND_ADMIN)
def resolve(item_id: int):
    item = services.get_item(item_id)
    form = ResolveForm()
    if not form.validate_on_submit():
        flash(_("Say how this was resolved."), "error")
    else:
        run_action(lambda: services.resolve_item(item, current_user, form.note.data), _("Resolved."))
    return redirect(url_for("reconcile.run", run_id=item.run_id))


@bp.post("/<int:run_id>/close")
@roles_required(Role.FUND_ADMIN)
def close(run_id: int):
    form = ActionForm()
    if form.validate_on_submit():
        run_action(
            lambda: services.close_run(services.get_run(run_id), current_user), _("The reconciliation is closed.")
        )
    return redirect(url_for("reconcile.run", run_id=run_id))


@bp.get("/<int:run_id>/items.csv")
@roles_required(Role.FUND_ADMIN)
def export(run_id: int):
    found = services.get_run(run_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [_("Kind"), _("Reference"), _("Amount (fen)"), _("Difference (fen)"), _("Donation"), _("Status"), _("Note")]
    )
    for item in found.items:
        writer.writerow(
            [
                kind_label(item.kind),
                item.reference,
                item.amount_fen,
                item.difference_fen,
                item.donation.receipt_no or item.donation.public_id if item.donation else "",
                item.status,
                _safe_cell(item.note or ""),
            ]
        )
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="reconciliation-{found.id}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _safe_cell(text: str) -> str:
    """A note typed by a person never runs as a spreadsheet formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
