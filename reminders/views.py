"""Staff: jobs, notifications, reminder settings, purchase proposals, pairings. Donors and volunteers:
the claim's reminder page, the volunteer's contact log, mail preferences (each behind a signed link)."""

from datetime import date, timedelta

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from core.auth import roles_required
from core.clock import as_utc, local_today, utcnow
from core.errors import DomainError, ValidationError
from core.extensions import csrf, db
from core.forms import ActionForm
from core.forms_util import apply_errors
from core.i18n import label_of
from core.models import Role
from core.outbox import NotificationStatus
from core.redact import mask_email, mask_text
from core.transactions import run_action, submit_form, transaction
from funds.models import Fund
from reminders import jobs, pairings, services
from reminders.forms import (
    ContactForm,
    DeliveredForm,
    FundPolicyForm,
    MailPreferencesForm,
    PairingDayForm,
    PairingForm,
    ReminderDaysForm,
)
from reminders.messages import address_from_link, preference, set_preferences
from reminders.models import (
    CONTACT_KIND_LABELS,
    JOB_RESULT_LABELS,
    NOTIFICATION_CHANNEL_LABELS,
    NOTIFICATION_KIND_LABELS,
    PROPOSAL_STATUS_LABELS,
    JobRun,
)

bp = Blueprint("reminders", __name__)

STAFF = "/staff"


def _private(response):
    response = make_response(response)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# --- jobs ----------------------------------------------------------------------------------------


def _job_rows() -> list[dict]:
    latest = (
        select(JobRun.job, func.max(JobRun.id).label("id"))
        .where(JobRun.finished_at.is_not(None))
        .group_by(JobRun.job)
        .subquery()
    )
    last = {run.job: run for run in db.session.scalars(select(JobRun).join(latest, latest.c.id == JobRun.id))}
    rows = []
    for job in jobs.JOBS:
        run = last.get(job.name)
        next_run = as_utc(run.started_at) + timedelta(seconds=job.seconds) if run else None
        rows.append({"job": job, "last": run, "next": max(next_run, utcnow()) if next_run else None})
    return rows


@bp.get(f"{STAFF}/jobs")
@roles_required(Role.ADMIN, Role.FUND_ADMIN)
def jobs_page():
    recent = list(db.session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(30)))
    return render_template(
        "reminders/jobs.html",
        rows=_job_rows(),
        recent=recent,
        action_form=ActionForm(),
        result_label=label_of(JOB_RESULT_LABELS),
        job_label=lambda name: job.description if (job := jobs.job_named(name)) else name,
    )


@bp.post(f"{STAFF}/jobs/<name>/run")
@roles_required(Role.ADMIN, Role.FUND_ADMIN)
def run_job_now(name: str):
    job = jobs.job_named(name)
    if job is None:
        abort(404)
    if not ActionForm().validate():
        abort(400)
    # The job opens its own session and commits; the request's must hold no lock meanwhile.
    db.session.rollback()
    run = jobs.run_job(current_app._get_current_object(), job)
    if run is None:
        flash(_("The job is running in another process right now."), "info")
    elif run.result == "ok":
        flash(_("%(job)s ran: %(n)d done.", job=name, n=run.count), "success")
    else:
        flash(_("%(job)s failed: %(message)s", job=name, message=run.message or ""), "error")
    return redirect(url_for("reminders.jobs_page"))


# --- notifications -------------------------------------------------------------------------------


@bp.get(f"{STAFF}/notifications")
@roles_required(Role.ADMIN, Role.FUND_ADMIN)
def notifications_page():
    status = request.args.get("status")
    if status not in set(NotificationStatus):
        status = None
    return render_template(
        "reminders/notifications.html",
        notes=services.notifications(status),
        counts=services.notification_counts(),
        status=status,
        statuses=list(NotificationStatus),
        action_form=ActionForm(),
        mask_recipient=lambda r: mask_email(r) if "@" in r else mask_text(r),
        kind_label=label_of(NOTIFICATION_KIND_LABELS),
        channel_label=label_of(NOTIFICATION_CHANNEL_LABELS),
    )


@bp.post(f"{STAFF}/notifications/<int:notification_id>/retry")
@roles_required(Role.ADMIN, Role.FUND_ADMIN)
def retry_notification(notification_id: int):
    if not ActionForm().validate():
        abort(400)
    run_action(
        lambda: services.retry_notification(current_user, notification_id), _("The notification will be sent again.")
    )
    return redirect(url_for("reminders.notifications_page", status="failed"))


# --- settings ------------------------------------------------------------------------------------


@bp.route(f"{STAFF}/reminders", methods=["GET", "POST"])
@roles_required(Role.FUND_ADMIN, Role.SUPERVISOR)
def settings_page():
    days_form = ReminderDaysForm(prefix="days")
    pairing_form = PairingDayForm(prefix="pairing")
    status = 200
    if request.method == "POST":
        if "days-days" in request.form and days_form.validate():
            ok, _result = submit_form(
                days_form, lambda: services.set_claim_reminder_days(current_user, days_form.days.data)
            )
            if ok:
                flash(_("Reminder days saved."), "success")
                return redirect(url_for("reminders.settings_page"))
        elif "pairing-day" in request.form and pairing_form.validate():
            ok, _result = submit_form(
                pairing_form, lambda: services.set_pairing_reminder_day(current_user, pairing_form.day.data)
            )
            if ok:
                flash(_("Reminder day saved."), "success")
                return redirect(url_for("reminders.settings_page"))
        status = 422
    if request.method == "GET" or not days_form.days.data:
        days_form.days.data = ", ".join(str(d) for d in services.claim_reminder_days())
    if request.method == "GET":
        pairing_form.day.data = services.pairing_reminder_day()
    policies = services.fund_policies()
    funds = list(db.session.scalars(select(Fund).where(Fund.active.is_(True)).order_by(Fund.name)))
    return (
        render_template(
            "reminders/settings.html",
            days_form=days_form,
            pairing_form=pairing_form,
            funds=funds,
            policies=policies,
            action_form=ActionForm(),
        ),
        status,
    )


@bp.post(f"{STAFF}/reminders/funds/<int:fund_id>")
@roles_required(Role.FUND_ADMIN)
def fund_policy(fund_id: int):
    fund = db.session.get(Fund, fund_id)
    if fund is None:
        abort(404)
    form = FundPolicyForm()
    if not form.validate():
        abort(400)
    run_action(
        lambda: services.set_fund_policy(current_user, fund, form.propose_purchase.data),
        _("The fund's policy is saved."),
    )
    return redirect(url_for("reminders.settings_page"))


@bp.get(f"{STAFF}/proposals")
@roles_required(Role.FUND_ADMIN)
def proposals():
    return render_template(
        "reminders/proposals.html",
        proposals=services.open_proposals(),
        labels=PROPOSAL_STATUS_LABELS,
        action_form=ActionForm(),
    )


@bp.post(f"{STAFF}/proposals/<int:proposal_id>/accept", defaults={"decision": "accept"})
@bp.post(f"{STAFF}/proposals/<int:proposal_id>/decline", defaults={"decision": "decline"})
@roles_required(Role.FUND_ADMIN)
def decide_proposal(proposal_id: int, decision: str):
    if not ActionForm().validate():
        abort(400)
    run_action(
        lambda: services.decide_proposal(current_user, proposal_id, decision == "accept"), _("The decision is saved.")
    )
    return redirect(url_for("reminders.proposals"))


# --- the claim's reminder page (signed link) -----------------------------------------------------


def _claim_page(token: str, claim, status: int = 200, delivered_form=None):
    return _private(
        (
            render_template(
                "reminders/claim.html",
                token=token,
                claim=claim,
                wish=claim.wish,
                can_extend=services.can_extend(claim),
                extended=services.has_extension(claim),
                delivered_form=delivered_form or DeliveredForm(),
                action_form=ActionForm(),
            ),
            status,
        )
    )


@bp.get("/reminder/<token>")
def claim_reminder(token: str):
    claim = services.claim_from_link(token)
    return _claim_page(token, claim)


@bp.post("/reminder/<token>/delivered")
def claim_delivered(token: str):
    claim = services.claim_from_link(token)
    form = DeliveredForm()
    if form.validate():
        try:
            with transaction():
                services.report_delivered(claim, form.note.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(url_for("reminders.claim_reminder", token=token))
        else:
            flash(_("Thank you! The caseworker will confirm when the gift has reached the child."), "success")
            return redirect(url_for("reminders.claim_reminder", token=token))
    return _claim_page(token, claim, 422, delivered_form=form)


@bp.post("/reminder/<token>/more-time")
def claim_more_time(token: str):
    claim = services.claim_from_link(token)
    if not ActionForm().validate():
        abort(400)
    run_action(
        lambda: services.extend_claim_once(claim, services.donor_actor(claim)),
        _("You have more time. The new date is on this page."),
    )
    return redirect(url_for("reminders.claim_reminder", token=token))


# --- mail preferences (signed link, one-click unsubscribe) --------------------------------------


@bp.route("/mail/preferences/<token>", methods=["GET", "POST"])
@csrf.exempt
def mail_preferences(token: str):
    """The signed link in every mail that may be stopped; a POST from a mail client unsubscribes at once.

    No CSRF token: the signed address in the link is the secret, and RFC 8058's one-click
    POST comes from the mail provider without one.
    """
    address = address_from_link(token)
    if address is None:
        abort(404)
    form = MailPreferencesForm(meta={"csrf": False})
    if request.method == "POST":
        if request.form.get("List-Unsubscribe") == "One-Click":
            with transaction():
                set_preferences(address, subscribed=False)
            return _private(("", 204))
        if form.validate():
            with transaction():
                set_preferences(address, locale=form.locale.data, subscribed=form.subscribed.data)
            flash(_("Your choice is saved."), "success")
            return redirect(url_for("reminders.mail_preferences", token=token))
    pref = preference(address)
    if request.method == "GET":
        form.locale.data = (pref.locale if pref and pref.locale else None) or current_app.config["BABEL_DEFAULT_LOCALE"]
        form.subscribed.data = pref is None or pref.unsubscribed_at is None
    return _private(render_template("reminders/preferences.html", form=form, address=mask_email(address)))


# --- pairings (staff) ----------------------------------------------------------------------------


def _month_arg() -> date:
    value = request.args.get("month") or ""
    try:
        year, month = (int(p) for p in value.split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        return local_today().replace(day=1)


@bp.get(f"{STAFF}/pairings")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def pairings_page():
    month = _month_arg()
    rows = pairings.compliance(current_user, month)
    previous = (month - timedelta(days=1)).replace(day=1)
    following = pairings.next_month(month)
    return render_template(
        "reminders/pairings.html",
        rows=rows,
        month=month,
        previous=previous,
        following=following if following <= local_today() else None,
        activities=pairings.year_activities(current_user, month.year),
        all_pairings=pairings.pairings_for(current_user),
    )


@bp.get(f"{STAFF}/pairings/export.xlsx")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def pairings_export():
    month = _month_arg()
    response = make_response(pairings.export_xlsx(current_user, month))
    response.headers["Content-Type"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response.headers["Content-Disposition"] = f'attachment; filename="pairings-{month:%Y-%m}.xlsx"'
    return response


@bp.route(f"{STAFF}/pairings/new", methods=["GET", "POST"])
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def new_pairing():
    form = PairingForm()
    children = services.children_of(current_user)
    form.child.choices = [SelectChoice(c.id, f"{c.alias} · {c.case_no}") for c in children]
    if request.method == "GET":
        form.start_date.data = local_today()
        if request.args.get("child", "").isdigit():
            form.child.data = int(request.args["child"])
    if form.validate_on_submit():
        child = next((c for c in children if c.id == form.child.data), None)
        if child is None:
            abort(403)
        data = pairings.PairingInput(
            volunteer_name=form.volunteer_name.data,
            volunteer_contact=form.volunteer_contact.data,
            volunteer_locale=form.volunteer_locale.data,
            start_date=form.start_date.data,
        )
        ok, pairing = submit_form(form, lambda: pairings.create_pairing(current_user, child, data))
        if ok:
            flash(_("The pairing is recorded. Send the volunteer their private link."), "success")
            return redirect(url_for("reminders.pairing_page", pairing_id=pairing.id))
    status = 422 if request.method == "POST" else 200
    return render_template("reminders/pairing_form.html", form=form), status


@bp.route(f"{STAFF}/pairings/<int:pairing_id>", methods=["GET", "POST"])
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def pairing_page(pairing_id: int):
    pairing = pairings.get_pairing(current_user, pairing_id)
    form = ContactForm()
    if request.method == "GET":
        form.happened_on.data = local_today()
    elif form.validate():
        ok, _result = submit_form(
            form,
            lambda: pairings.log_contact(pairing, current_user, form.kind.data, form.happened_on.data, form.note.data),
        )
        if ok:
            flash(_("The contact is logged."), "success")
            return redirect(url_for("reminders.pairing_page", pairing_id=pairing.id))
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "reminders/pairing.html",
            pairing=pairing,
            form=form,
            link=pairings.volunteer_link(pairing) if pairing.end_date is None else None,
            kinds=CONTACT_KIND_LABELS,
            action_form=ActionForm(),
        ),
        status,
    )


@bp.post(f"{STAFF}/pairings/<int:pairing_id>/renew", defaults={"action": "renew"})
@bp.post(f"{STAFF}/pairings/<int:pairing_id>/end", defaults={"action": "end"})
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def pairing_action(pairing_id: int, action: str):
    pairing = pairings.get_pairing(current_user, pairing_id)
    if not ActionForm().validate():
        abort(400)
    if action == "renew":
        run_action(
            lambda: pairings.renew_link(current_user, pairing), _("A new link is made; the old one no longer works.")
        )
    else:
        run_action(lambda: pairings.end_pairing(current_user, pairing), _("The pairing has ended."))
    return redirect(url_for("reminders.pairing_page", pairing_id=pairing_id))


# --- the volunteer's contact log (signed link, for a phone) --------------------------------------


@bp.route("/volunteer/<token>", methods=["GET", "POST"])
def volunteer_log(token: str):
    pairing = pairings.pairing_from_link(token)
    form = ContactForm()
    if request.method == "GET":
        form.happened_on.data = local_today()
    elif form.validate():
        ok, _result = submit_form(
            form,
            lambda: pairings.log_contact(pairing, "volunteer", form.kind.data, form.happened_on.data, form.note.data),
        )
        if ok:
            flash(_("Thank you! The contact is logged."), "success")
            return redirect(url_for("reminders.volunteer_log", token=token))
    status = 422 if request.method == "POST" else 200
    month_first = local_today().replace(day=1)
    recent = [c for c in pairing.contacts][:10]
    return _private(
        (
            render_template(
                "reminders/volunteer.html",
                pairing=pairing,
                form=form,
                recent=recent,
                kinds=CONTACT_KIND_LABELS,
                this_month=any(c.happened_on >= month_first for c in pairing.contacts),
            ),
            status,
        )
    )
