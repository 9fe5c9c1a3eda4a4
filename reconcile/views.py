"""The fund administrator's reconciliation desk: runs against Stripe, their items, resolving and closing."""

import re
import secrets
from pathlib import Path

from flask import Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from core import spreadsheets
from core.auth import roles_required
from core.database import read_only
from core.errors import DomainError, ValidationError
from core.extensions import db
from core.forms import ActionForm
from core.forms_util import apply_errors
from core.models import Role
from core.money import fen_to_yuan_str
from core.transactions import run_action, transaction
from funds import ledger
from funds import services as fund_services
from funds.models import CHANNEL_LABELS
from funds.queries import funds as list_funds
from reconcile import actions, bankfiles, services, worker
from reconcile import bank as bank_service
from reconcile.forms import (
    CorrectionForm,
    IgnoreForm,
    LinkForm,
    ResolveForm,
    StatementForm,
    StripeReportForm,
    StripeRunForm,
)
from reconcile.models import ItemLayer, ItemStatus, ReconcileRun, RunStatus

bp = Blueprint("reconcile", __name__, url_prefix="/staff/reconcile")


def kind_label(kind: str) -> str:
    return {
        "missing_here": _("Missing here"),
        "missing_there": _("Missing at the other side"),
        "amount_mismatch": _("Amount mismatch"),
        "duplicate": _("Duplicate"),
        "suggested": _("Suggested"),
        "ambiguous": _("Ambiguous"),
        "no_fund": _("Money of no fund"),
    }.get(kind, kind)


#: An item's state in words, for the export.
ITEM_STATUS_LABELS = {
    ItemStatus.OPEN: _l("Open for review"),
    ItemStatus.RESOLVED: _l("Resolved"),
    ItemStatus.IGNORED: _l("Not ours"),
}

#: The three layers of reconciliation, in the order money moves.
LAYER_LABELS = {
    ItemLayer.DONATION_CHARGE: _l("Donation ↔ charge"),
    ItemLayer.CHARGE_PAYOUT: _l("Charge ↔ payout"),
    ItemLayer.BANK: _l("Payout or offline gift ↔ bank"),
}


def layer_label(layer: str) -> str:
    return str(LAYER_LABELS.get(layer, layer))


def dashboard_panel() -> tuple[str, dict]:
    """The reconciliation desk's button and its open items on the fund administrator's dashboard."""
    return "reconcile/_dashboard_panel.html", {"open_items": services.open_item_count()}


def transparency_section(_fund) -> tuple[str, dict]:
    """The date of the last closed reconciliation, on every fund's transparency page."""
    return "reconcile/_transparency.html", {"closed_at": services.last_closed_at()}


@bp.get("")
@roles_required(Role.FUND_ADMIN)
def index():
    runs = db.session.scalars(select(ReconcileRun).order_by(ReconcileRun.id.desc()).limit(50)).all()
    return render_template(
        "reconcile/index.html",
        runs=runs,
        form=StripeRunForm(),
        report_form=StripeReportForm(),
        stripe_on=bool(current_app.config.get("STRIPE_SECRET_KEY")),
        shown_status=services.shown_status,
    )


@bp.post("/stripe")
@roles_required(Role.FUND_ADMIN)
def start_stripe():
    """Start a run and hand it to a worker thread; the run page shows its progress."""
    form = StripeRunForm()
    if form.validate_on_submit():
        try:
            with transaction():
                run_id = services.start_stripe_run(current_user, form.since.data, form.until.data).id
        except ValidationError as exc:
            apply_errors(form, exc)
        except DomainError as exc:
            form.form_errors.append(str(exc.message))
        else:
            worker.start(current_app._get_current_object(), run_id)
            return redirect(url_for("reconcile.run", run_id=run_id))
    runs = db.session.scalars(select(ReconcileRun).order_by(ReconcileRun.id.desc()).limit(50)).all()
    return render_template(
        "reconcile/index.html",
        runs=runs,
        form=form,
        report_form=StripeReportForm(),
        stripe_on=bool(current_app.config.get("STRIPE_SECRET_KEY")),
        shown_status=services.shown_status,
    ), 422


@bp.get("/<int:run_id>/status")
@roles_required(Role.FUND_ADMIN)
def status(run_id: int):
    """The run's progress as JSON, for the run page's progress display to poll."""
    with read_only():
        body = services.progress_of(services.get_run(run_id))
    db.session.rollback()
    body["url"] = url_for("reconcile.run", run_id=run_id)
    response = jsonify(body)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/stripe-report")
@roles_required(Role.FUND_ADMIN)
def stripe_report():
    request.max_content_length = bankfiles.MAX_BYTES + 2**16
    form = StripeReportForm()
    if form.validate_on_submit():
        upload = form.report.data
        data = upload.stream.read(bankfiles.MAX_BYTES + 1) if upload and getattr(upload, "filename", "") else b""
        if not data:
            form.report.errors = [_("Choose the report file.")]
        elif len(data) > bankfiles.MAX_BYTES:
            form.report.errors = [_("A statement may be at most %(n)d MB.", n=bankfiles.MAX_BYTES // 2**20)]
        else:
            try:
                with transaction():
                    run = services.run_stripe_report(current_user, data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                return redirect(url_for("reconcile.run", run_id=run.id))
    runs = db.session.scalars(select(ReconcileRun).order_by(ReconcileRun.id.desc()).limit(50)).all()
    return render_template(
        "reconcile/index.html",
        runs=runs,
        form=StripeRunForm(),
        report_form=form,
        stripe_on=bool(current_app.config.get("STRIPE_SECRET_KEY")),
        shown_status=services.shown_status,
    ), 422


@bp.get("/<int:run_id>")
@roles_required(Role.FUND_ADMIN)
def run(run_id: int):
    found = services.get_run(run_id)
    layer = request.args.get("layer", "")
    if layer not in set(ItemLayer):
        layer = ""
    return render_template(
        "reconcile/run.html",
        run=found,
        status=services.shown_status(found),
        progress=services.progress_of(found),
        items=[item for item in found.items if not layer or item.layer == layer],
        layer=layer,
        layers=LAYER_LABELS,
        open_items=services.open_items(found),
        resolve_form=ResolveForm(),
        ignore_form=IgnoreForm(),
        action_form=ActionForm(),
        kind_label=kind_label,
        layer_label=layer_label,
        account_label=ledger.account_label,
        can_correct=actions.can_correct,
        can_link=actions.can_link,
        fund_names={fund.id: fund.name for fund in list_funds()},
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
    rows = [
        [
            _("Layer"),
            _("Kind"),
            _("Reference"),
            _("Amount (fen)"),
            _("Difference (fen)"),
            _("Donation"),
            _("Status"),
            _("Note"),
            _("Correcting journal"),
            _("Linked donation"),
        ]
    ]
    rows += [
        [
            layer_label(item.layer),
            kind_label(item.kind),
            item.reference,
            item.amount_fen,
            item.difference_fen,
            _receipt(item.donation),
            str(ITEM_STATUS_LABELS.get(item.status, item.status)),
            item.note or "",
            item.journal_id or "",
            _receipt(item.linked_donation),
        ]
        for item in found.items
    ]
    response = Response(spreadsheets.as_csv(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="reconciliation-{found.id}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _receipt(donation) -> str:
    return (donation.receipt_no or donation.public_id) if donation is not None else ""


# --- bank statements ------------------------------------------------------------------------------

#: Where a statement waits between its upload and the column mapping: a random name, never the file's.
PENDING = re.compile(r"^[0-9a-f]{32}$")


def _pending_folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / "statements"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _read_upload(form: StatementForm) -> tuple[str, bytes] | None:
    upload = form.statement.data
    if not upload or not getattr(upload, "filename", ""):
        form.statement.errors = [_("Choose the statement file.")]
        return None
    data = upload.stream.read(bankfiles.MAX_BYTES + 1)
    if len(data) > bankfiles.MAX_BYTES:
        form.statement.errors = [_("A statement may be at most %(n)d MB.", n=bankfiles.MAX_BYTES // 2**20)]
        return None
    return upload.filename, data


def _imported(statement, run):
    if run is None:
        flash(_("Every line of this statement was imported before: nothing was added."), "info")
        return redirect(url_for("reconcile.index"))
    return redirect(url_for("reconcile.run", run_id=run.id))


@bp.route("/bank", methods=["GET", "POST"])
@roles_required(Role.FUND_ADMIN)
def bank():
    # A statement of a year's lines is larger than a photo: this form alone takes more.
    request.max_content_length = bankfiles.MAX_BYTES + 2**16
    form = StatementForm()
    if form.validate_on_submit() and (upload := _read_upload(form)):
        filename, data = upload
        try:
            sheet, layout = bank_service.plan(data)
            if layout is None:
                token = secrets.token_hex(16)
                (_pending_folder() / token).write_bytes(data)
                return _mapping_page(token, filename, sheet, {})
            with transaction():
                statement, run = bank_service.import_statement(current_user, filename, data)
        except ValidationError as exc:
            apply_errors(form, exc, {"file": "statement", "mapping": "statement"})
        else:
            return _imported(statement, run)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("reconcile/bank.html", form=form, layouts=bankfiles.LAYOUTS), status


def _mapping_page(token: str, filename: str, sheet, chosen: dict, errors=(), status=200):
    columns = [(index, name or f"#{index + 1}") for index, name in enumerate(sheet.header)]
    return render_template(
        "reconcile/bank_mapping.html",
        token=token,
        filename=filename,
        columns=columns,
        sample=sheet.rows[:5],
        fields=bankfiles.FIELDS,
        field_labels=bankfiles.FIELD_LABELS,
        chosen=chosen,
        errors=errors,
        form=ActionForm(),
    ), status


@bp.post("/bank/map")
@roles_required(Role.FUND_ADMIN)
def bank_map():
    form = ActionForm()
    token = request.form.get("token", "")
    filename = request.form.get("filename", "statement")[:200]
    path = _pending_folder() / token if PENDING.match(token) else None
    if not form.validate_on_submit() or path is None or not path.is_file():
        flash(_("The uploaded statement is gone: upload it again."), "error")
        return redirect(url_for("reconcile.bank"))
    data = path.read_bytes()
    chosen = {}
    for field in bankfiles.FIELDS:
        value = request.form.get(field, "")
        if value.isdigit():
            chosen[field] = int(value)
    try:
        with transaction():
            statement, run = bank_service.import_statement(current_user, filename, data, chosen)
    except ValidationError as exc:
        sheet, _layout = bank_service.plan(data)
        return _mapping_page(token, filename, sheet, chosen, [str(m) for m in exc.fields.values()], 422)
    path.unlink(missing_ok=True)
    return _imported(statement, run)


@bp.post("/items/<int:item_id>/accept")
@roles_required(Role.FUND_ADMIN)
def accept(item_id: int):
    form = ActionForm()
    item = services.get_item(item_id)
    if form.validate_on_submit():
        run_action(lambda: bank_service.accept_suggestion(item, current_user), _("The line is matched."))
    return redirect(url_for("reconcile.run", run_id=item.run_id))


@bp.post("/items/<int:item_id>/ignore")
@roles_required(Role.FUND_ADMIN)
def ignore(item_id: int):
    form = IgnoreForm()
    item = services.get_item(item_id)
    if not form.validate_on_submit():
        flash(_("Say why this is not ours."), "error")
    else:
        run_action(lambda: bank_service.ignore_item(item, current_user, form.note.data), _("Marked as not ours."))
    return redirect(url_for("reconcile.run", run_id=item.run_id))


# --- the item's actions: a correcting journal, a link to a donation ------------------------------


def _refused(item, message: str):
    flash(message, "error")
    return redirect(url_for("reconcile.run", run_id=item.run_id))


def _correction_choices(form: CorrectionForm) -> None:
    form.fund.choices = [SelectChoice(0, _("Choose a fund"))] + [
        SelectChoice(fund.id, fund.name) for fund in list_funds(active_only=True)
    ]
    form.asset.choices = [SelectChoice(code, ledger.ACCOUNT_LABELS[code]) for code in fund_services.CORRECTABLE_ASSETS]
    form.counter.choices = [
        SelectChoice(code, ledger.ACCOUNT_LABELS[code]) for code in fund_services.CORRECTION_COUNTERS
    ]


@bp.route("/items/<int:item_id>/journal", methods=["GET", "POST"])
@roles_required(Role.FUND_ADMIN)
def journal(item_id: int):
    """The correcting journal, prefilled from the item's exact difference, confirmed by the person."""
    item = services.get_item(item_id)
    if item.run.status == RunStatus.CLOSED:
        return _refused(item, _("This reconciliation is closed."))
    if not actions.can_correct(item):
        return _refused(item, _("This item cannot be answered with a correcting journal."))
    proposed = actions.proposed_correction(item)
    form = CorrectionForm()
    _correction_choices(form)
    status = 200
    if request.method == "GET":
        form.fund.data = proposed.fund_id or 0
        form.asset.data = proposed.asset
        form.counter.data = proposed.counter
        form.direction.data = "in" if proposed.amount_fen > 0 else "out"
        form.amount.data = fen_to_yuan_str(abs(proposed.amount_fen))
    elif form.validate_on_submit():
        amount = form.amount.fen if form.direction.data == "in" else -form.amount.fen
        try:
            with transaction():
                actions.post_correction(
                    item, current_user, form.fund.data, form.asset.data, form.counter.data, amount, form.note.data
                )
        except ValidationError as exc:
            apply_errors(form, exc)
        except DomainError as exc:
            form.form_errors.append(str(exc.message))
        else:
            flash(_("The correcting journal is posted and the item resolved."), "success")
            return redirect(url_for("reconcile.run", run_id=item.run_id))
        status = 422
    else:
        status = 422
    return render_template(
        "reconcile/journal.html",
        item=item,
        form=form,
        proposed=proposed,
        kind_label=kind_label,
        layer_label=layer_label,
        account_label=ledger.account_label,
    ), status


@bp.route("/items/<int:item_id>/link", methods=["GET", "POST"])
@roles_required(Role.FUND_ADMIN)
def link(item_id: int):
    """Find the donation a row or line belongs to (receipt number, public id, reference, amount) and link it."""
    item = services.get_item(item_id)
    if item.run.status == RunStatus.CLOSED:
        return _refused(item, _("This reconciliation is closed."))
    if not actions.can_link(item):
        return _refused(item, _("Only a row or a line of money in that names no donation here can be linked."))
    form = LinkForm()
    query = request.args.get("q", "")[:60]
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            chosen = actions.find_donation(form.donation.data)
            try:
                with transaction():
                    actions.link_donation(item, current_user, chosen, form.note.data)
            except ValidationError as exc:
                apply_errors(form, exc)
            except DomainError as exc:
                form.form_errors.append(str(exc.message))
            else:
                flash(_("The donation is linked and the item resolved."), "success")
                return redirect(url_for("reconcile.run", run_id=item.run_id))
        elif not form.donation.data:
            form.form_errors.append(_("Choose the donation."))
    found = actions.candidates(item, query)
    return render_template(
        "reconcile/link.html",
        item=item,
        form=form,
        query=query,
        found=[(donation, actions.link_refusal(item, donation)) for donation in found],
        channel_label=lambda channel: str(CHANNEL_LABELS.get(channel, channel)),
        kind_label=kind_label,
        layer_label=layer_label,
    ), status
