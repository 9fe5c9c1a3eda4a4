"""Fund pages: the fund administrator's desk, and the public fund, project, campaign and poster pages."""

from datetime import date
from uuid import uuid4

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from core import qr
from core.auth import roles_required
from core.errors import DomainError, ValidationError
from core.forms import ActionForm
from core.forms_util import apply_errors
from core.models import Role
from core.transactions import run_action, submit_form, transaction
from core.uploads import discard_image, save_image, send_image
from core.urls import public_url
from funds import donations, imports, queries, services, statements
from funds.forms import (
    CampaignForm,
    FundEditForm,
    FundForm,
    ImportForm,
    OfflineDonationForm,
    ProjectForm,
    RefundForm,
)
from funds.models import CHANNEL_LABELS, ONLINE_CHANNELS

bp = Blueprint("funds", __name__)

STAFF = "/staff"
#: Where the packages built on funds put what they add to the administrator's dashboard:
#: callables, registered at start-up, that return (template name, its values).
DASHBOARD_PANELS = "funds.dashboard_panels"


# --- public --------------------------------------------------------------------------------------


@bp.get("/funds")
def public_funds():
    return render_template("funds/public_funds.html", rows=queries.funds_with_figures(active_only=True, public=True))


@bp.get("/funds/<slug>")
def public_fund(slug: str):
    fund = queries.fund_by_slug(slug, public=True)
    return render_template(
        "funds/public_fund.html",
        fund=fund,
        figures=queries.fund_figures(fund, public=True),
        projects=queries.projects(fund, open_only=True),
        campaigns=queries.campaigns(fund, active_only=True),
    )


@bp.get("/projects/<slug>")
def public_project(slug: str):
    project = queries.project_by_slug(slug, public=True)
    raised = queries.project_raised(project)
    percent = min(100, raised * 100 // project.goal_fen)
    return render_template("funds/public_project.html", project=project, raised=raised, percent=percent)


@bp.get("/campaigns/<slug>")
def public_campaign(slug: str):
    campaign = queries.campaign_by_slug(slug, public=True)
    raised, count = queries.campaign_totals(campaign)
    return render_template("funds/public_campaign.html", campaign=campaign, raised=raised, count=count)


def _qr_target(kind: str, slug: str) -> str:
    if kind == "fund":
        return public_url("funds.public_fund", slug=queries.fund_by_slug(slug, public=True).slug, src="qr")
    if kind == "project":
        return public_url("funds.public_project", slug=queries.project_by_slug(slug, public=True).slug, src="qr")
    # A campaign's code goes straight to its donation form: at the counter nobody wants a detour.
    campaign = queries.campaign_by_slug(slug, public=True)
    return public_url("payments_donate.donate", kind="campaign", slug=campaign.slug, src="qr")


@bp.get("/funds/<slug>/qr.<any(svg, png):fmt>")
def fund_qr(slug: str, fmt: str):
    return qr.response(_qr_target("fund", slug), fmt)


@bp.get("/projects/<slug>/qr.<any(svg, png):fmt>")
def project_qr(slug: str, fmt: str):
    return qr.response(_qr_target("project", slug), fmt)


@bp.get("/campaigns/<slug>/qr.<any(svg, png):fmt>")
def campaign_qr(slug: str, fmt: str):
    return qr.response(_qr_target("campaign", slug), fmt)


def _poster_subject(kind: str, ident: str) -> dict:
    """What a fund's, project's or campaign's poster shows: its title, its text and its code."""
    if kind == "fund":
        fund = queries.fund_by_slug(ident, public=True)
        title, text, slug = fund.name, fund.description, fund.slug
    elif kind == "project":
        project = queries.project_by_slug(ident, public=True)
        title, text, slug = project.title, project.summary, project.slug
    else:
        campaign = queries.campaign_by_slug(ident, public=True)
        title, text, slug = campaign.title, campaign.description, campaign.slug
    return {
        "title": title,
        "text": text,
        "qr_url": url_for(f"funds.{kind}_qr", slug=slug, fmt="svg"),
        "target": _qr_target(kind, slug),
    }


@bp.get("/posters/<any(fund, project, campaign):kind>/<ident>")
def poster(kind: str, ident: str):
    """A printable A4 or A5 page with a big QR code and the title."""
    size = request.args.get("size") if request.args.get("size") in ("a4", "a5") else "a4"
    return render_template("poster.html", kind=kind, size=size, **_poster_subject(kind, ident))


# --- fund administrator: funds --------------------------------------------------------------------


@bp.get(f"{STAFF}/funds")
@roles_required(Role.FUND_ADMIN)
def admin_dashboard():
    return render_template(
        "funds/admin_dashboard.html",
        rows=queries.funds_with_figures(),
        panels=[panel() for panel in current_app.extensions[DASHBOARD_PANELS]],
    )


@bp.route(f"{STAFF}/funds/new", methods=["GET", "POST"])
@roles_required(Role.FUND_ADMIN)
def admin_new_fund():
    form = FundForm()
    if form.validate_on_submit():
        ok, _fund = submit_form(
            form,
            lambda: services.create_fund(current_user, form.slug.data, form.name.data, form.description.data or ""),
        )
        if ok:
            flash(_("The fund is created."), "success")
            return redirect(url_for("funds.admin_dashboard"))
    return render_template("funds/admin_fund_form.html", form=form, fund=None), 422 if form.errors else 200


@bp.route(f"{STAFF}/funds/<slug>/edit", methods=["GET", "POST"])
@roles_required(Role.FUND_ADMIN)
def admin_edit_fund(slug: str):
    fund = queries.fund_by_slug(slug)
    form = FundEditForm(obj=fund)
    if form.validate_on_submit():
        ok, _fund = submit_form(
            form,
            lambda: services.update_fund(
                current_user, fund, form.name.data, form.description.data or "", form.active.data
            ),
        )
        if ok:
            flash(_("The fund is saved."), "success")
            return redirect(url_for("funds.admin_dashboard"))
    return render_template("funds/admin_fund_form.html", form=form, fund=fund), 422 if form.errors else 200


@bp.get(f"{STAFF}/funds/<slug>/donations")
@roles_required(Role.FUND_ADMIN)
def admin_donations(slug: str):
    fund = queries.fund_by_slug(slug)
    return render_template(
        "funds/admin_donations.html",
        fund=fund,
        figures=queries.fund_figures(fund),
        donations=queries.donations(fund),
        channel_labels=CHANNEL_LABELS,
    )


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _statement(slug: str):
    """The fund's statement for the period the query names (?since=YYYY-MM-DD&until=YYYY-MM-DD, both optional)."""
    fund = queries.fund_by_slug(slug)
    days = {}
    for name in ("since", "until"):
        value = request.args.get(name) or ""
        try:
            days[name] = date.fromisoformat(value) if value else None
        except ValueError:
            raise ValidationError(fields={name: _("Give the day as YYYY-MM-DD.")}) from None
    if days["since"] and days["until"] and days["until"] < days["since"]:
        raise ValidationError(fields={"until": _("The period ends before it starts.")})
    statement = statements.build(fund, days["since"], days["until"])
    period = "-".join(d.isoformat() for d in days.values() if d) or "all"
    return statement, f"statement-{fund.slug}-{period}"


@bp.get(f"{STAFF}/funds/<slug>/statement.csv")
@roles_required(Role.FUND_ADMIN)
def admin_statement_csv(slug: str):
    statement, name = _statement(slug)
    return _download(statements.as_csv(statement), "text/csv", f"{name}.csv")


@bp.get(f"{STAFF}/funds/<slug>/statement.xlsx")
@roles_required(Role.FUND_ADMIN)
def admin_statement_xlsx(slug: str):
    statement, name = _statement(slug)
    return _download(
        statements.as_xlsx(statement),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"{name}.xlsx",
    )


@bp.get(f"{STAFF}/funds/<slug>/statement.pdf")
@roles_required(Role.FUND_ADMIN)
def admin_statement_pdf(slug: str):
    statement, name = _statement(slug)
    return _download(statements.as_pdf(statement, current_user.display_name), "application/pdf", f"{name}.pdf")


# --- fund administrator: projects -----------------------------------------------------------------


def _fund_choices(field) -> None:
    field.choices = [SelectChoice(f.slug, f.name) for f in queries.funds(active_only=True)]


@bp.get(f"{STAFF}/projects")
@roles_required(Role.FUND_ADMIN)
def admin_projects():
    return render_template(
        "funds/admin_projects.html",
        projects=queries.projects(),
        raised=queries.raised_by_project(),
        action_form=ActionForm(),
    )


@bp.route(f"{STAFF}/projects/new", methods=["GET", "POST"])
@roles_required(Role.FUND_ADMIN)
def admin_new_project():
    form = ProjectForm()
    _fund_choices(form.fund)
    if form.validate_on_submit():
        data = services.ProjectInput(
            slug=form.slug.data,
            title=form.title.data,
            fund=form.fund.data,
            goal_fen=form.goal.fen,
            beneficiaries=int(form.beneficiaries.data) if (form.beneficiaries.data or "").strip() else None,
            district=form.district.data,
            summary=form.summary.data or "",
        )
        ok, _project = submit_form(form, lambda: services.create_project(current_user, data), {"goal_fen": "goal"})
        if ok:
            flash(_("The project is created."), "success")
            return redirect(url_for("funds.admin_projects"))
    return render_template("funds/admin_project_form.html", form=form), 422 if form.errors else 200


@bp.post(f"{STAFF}/projects/<int:project_id>/close")
@roles_required(Role.FUND_ADMIN)
def admin_close_project(project_id: int):
    project = queries.get_project(project_id)
    if ActionForm().validate():
        run_action(lambda: services.close_project(current_user, project), _("The project is closed to donations."))
    return redirect(url_for("funds.admin_projects"))


@bp.route(f"{STAFF}/projects/import", methods=["GET", "POST"])
@roles_required(Role.FUND_ADMIN)
def admin_import_projects():
    form = ImportForm()
    row_errors: dict = {}
    if form.validate_on_submit():
        upload = form.sheet.data
        try:
            with transaction():
                if not upload or not getattr(upload, "filename", ""):
                    raise ValidationError(fields={"sheet": _("Choose the sheet to upload.")})
                rows = imports.read_rows(upload.filename, upload.stream)
                created = services.import_projects(current_user, rows)
        except ValidationError as exc:
            if any(key.startswith("row ") for key in exc.fields):
                row_errors = exc.fields
                form.form_errors.append(str(exc.message))
            else:
                apply_errors(form, exc)
        else:
            flash(_("%(n)d projects were imported.", n=len(created)), "success")
            return redirect(url_for("funds.admin_projects"))
    status = 422 if (form.errors or form.form_errors or row_errors) else 200
    return render_template(
        "funds/admin_import.html", form=form, row_errors=row_errors, columns=imports.column_names()
    ), status


@bp.get(f"{STAFF}/projects/import/template.csv")
@roles_required(Role.FUND_ADMIN)
def admin_import_template():
    return _download(imports.template_csv(), "text/csv", "projects-template.csv")


# --- fund administrator: campaigns ----------------------------------------------------------------


@bp.get(f"{STAFF}/campaigns")
@roles_required(Role.FUND_ADMIN)
def admin_campaigns():
    return render_template("funds/admin_campaigns.html", campaigns=queries.campaigns())


@bp.route(f"{STAFF}/campaigns/new", methods=["GET", "POST"])
@roles_required(Role.FUND_ADMIN)
def admin_new_campaign():
    form = CampaignForm()
    _fund_choices(form.fund)
    form.project.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(p.slug, _("%(name)s (%(detail)s)", name=p.title, detail=p.fund.name))
        for p in queries.projects(open_only=True)
    ]
    if form.validate_on_submit():
        data = services.CampaignInput(
            slug=form.slug.data,
            title=form.title.data,
            fund=form.fund.data,
            kind=form.kind.data,
            description=form.description.data or "",
            project=form.project.data or None,
            presets=form.presets.fens,
            min_fen=form.minimum.fen,
            max_fen=form.maximum.fen,
        )
        ok, _campaign = submit_form(
            form, lambda: services.create_campaign(current_user, data), {"min_fen": "minimum", "max_fen": "maximum"}
        )
        if ok:
            flash(_("The campaign is created. Print its poster from the list."), "success")
            return redirect(url_for("funds.admin_campaigns"))
    return render_template("funds/admin_campaign_form.html", form=form), 422 if form.errors else 200


# --- fund administrator: donations ----------------------------------------------------------------


def _target_choices(field) -> None:
    choices = [
        SelectChoice(f"fund:{f.slug}", _("Fund: %(name)s", name=f.name)) for f in queries.funds(active_only=True)
    ]
    choices += [
        SelectChoice(f"project:{p.slug}", _("Project: %(name)s", name=p.title))
        for p in queries.projects(open_only=True)
    ]
    choices += [
        SelectChoice(f"campaign:{c.slug}", _("Campaign: %(name)s", name=c.title))
        for c in queries.campaigns(active_only=True)
    ]
    field.choices = choices


@bp.route(f"{STAFF}/donations/offline", methods=["GET", "POST"])
@roles_required(Role.FUND_ADMIN)
def admin_offline_donation():
    form = OfflineDonationForm()
    _target_choices(form.target)
    if form.validate_on_submit():
        evidence = None
        try:
            with transaction():
                kind, _sep, slug = form.target.data.partition(":")
                target = donations.resolve_target(**{kind: slug})
                if form.evidence.data and getattr(form.evidence.data, "filename", ""):
                    evidence = save_image(form.evidence.data.stream, field="evidence")
                donor = donations.DonorInput(
                    name=form.name.data,
                    contact=form.contact.data,
                    display_name=form.display_name.data,
                    anonymous=form.anonymous.data,
                )
                donation = donations.record_offline(
                    current_user,
                    target,
                    form.amount.fen,
                    donor,
                    form.channel.data,
                    form.reference.data,
                    evidence,
                    received_on=form.received_on.data,
                )
        except ValidationError as exc:
            discard_image(evidence)
            apply_errors(
                form, exc, {"amount_fen": "amount", "fund": "target", "project": "target", "campaign": "target"}
            )
        except Exception:
            discard_image(evidence)
            raise
        else:
            flash(_("Recorded with receipt number %(no)s.", no=donation.receipt_no), "success")
            return redirect(url_for("funds.admin_donations", slug=donation.fund.slug))
    return render_template("funds/admin_offline_form.html", form=form), 422 if (
        form.errors or form.form_errors
    ) else 200


@bp.route(f"{STAFF}/donations/<int:donation_id>/refund", methods=["GET", "POST"])
@roles_required(Role.FUND_ADMIN)
def admin_refund(donation_id: int):
    donation = queries.get_donation(donation_id)
    if donation.channel in ONLINE_CHANNELS and not donation.simulated and current_app.config.get("STRIPE_SECRET_KEY"):
        # Money paid through Stripe goes back through Stripe, and the ledger follows its event.
        return redirect(url_for("payments_refunds.refund", donation_id=donation.id))
    form = RefundForm()
    if form.validate_on_submit():
        try:
            with transaction():
                donations.refund(
                    donation, form.amount.fen, current_user, source_key=f"admin-refund:{uuid4()}", note=form.reason.data
                )
        except ValidationError as exc:
            apply_errors(form, exc, {"amount_fen": "amount"})
        except DomainError as exc:
            form.form_errors.append(str(exc.message))
        else:
            flash(_("The refund is recorded."), "success")
            return redirect(url_for("funds.admin_donations", slug=donation.fund.slug))
    status = 422 if (form.errors or form.form_errors) else 200
    return render_template(
        "funds/admin_refund.html", form=form, donation=donation, channel_labels=CHANNEL_LABELS
    ), status


@bp.get(f"{STAFF}/donations/<int:donation_id>/evidence-photo")
@roles_required(Role.FUND_ADMIN)
def admin_evidence_photo(donation_id: int):
    return send_image(queries.get_donation(donation_id).evidence)
