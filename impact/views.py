"""Staff record service activities; everyone reads the impact report (a page, charts, CSV and XLSX)."""

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from core.auth import roles_required
from core.errors import InvalidTransition, NotFound
from core.transactions import submit_form
from funds import queries as fund_queries
from impact import report, services
from impact.forms import ActivityFilterForm, ActivityForm, PeriodForm, VoidForm, kind_choices
from impact.models import ACTIVITY_KIND_LABELS
from wishes import places

bp = Blueprint("impact", __name__)

STAFF = "/staff/activities"


# --- staff: service activities ------------------------------------------------------------------


def _choose(form: ActivityForm, activity=None) -> None:
    """The form's lists: places from the managed list (and the activity's own, if it left the list), funds, projects."""
    choices = [SelectChoice("", _("Choose…"))] + [SelectChoice(p.value, p.label) for p in places.all_places(True)]
    if activity is not None:
        own = f"{activity.district}|{activity.street}|{activity.community}"
        if own not in {c.value for c in choices}:
            choices.append(SelectChoice(own, activity.place_label))
    form.place.choices = choices
    form.fund.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(str(f.id), f.name) for f in fund_queries.funds(active_only=True)
    ]
    form.project.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(str(p.id), p.title) for p in fund_queries.projects(open_only=True)
    ]
    if activity is not None:
        for field, value in ((form.fund, activity.fund), (form.project, activity.project)):
            if value is not None and str(value.id) not in {c.value for c in field.choices}:
                field.choices.append(SelectChoice(str(value.id), getattr(value, "name", None) or value.title))


def _input(form: ActivityForm) -> services.ActivityInput:
    return services.ActivityInput(
        happened_on=form.happened_on.data,
        kind=form.kind.data,
        place=form.place.data,
        children=form.children.data,
        people=form.people.data,
        note=form.note.data or "",
        fund_id=int(form.fund.data) if form.fund.data else None,
        project_id=int(form.project.data) if form.project.data else None,
    )


#: The service names its fields as the model does; the form shows them where a person typed them.
RENAMES = {"fund_id": "fund", "project_id": "project"}


@bp.get(STAFF)
@roles_required(*services.READERS)
def activities():
    form = ActivityFilterForm(request.args)
    form.kind.choices = [SelectChoice("", _("All kinds"))] + kind_choices()
    form.district.choices = [SelectChoice("", _("All districts"))] + [
        SelectChoice(d, d) for d in services.districts_recorded()
    ]
    ok = form.validate() if request.args else True
    where = services.ActivityFilter(
        since=form.since.data if ok else None,
        until=form.until.data if ok else None,
        kind=(form.kind.data or None) if ok else None,
        district=(form.district.data or None) if ok else None,
        include_voided=request.args.get("voided") == "1",
    )
    found = services.activities(current_user, where)
    page = render_template(
        "impact/activities.html",
        form=form,
        activities=found,
        totals=services.added_up(found),
        kind_labels=ACTIVITY_KIND_LABELS,
        can_record=current_user.has_role(*services.RECORDERS),
    )
    return page, 200 if ok else 422


@bp.route(f"{STAFF}/new", methods=["GET", "POST"])
@roles_required(*services.RECORDERS)
def new_activity():
    form = ActivityForm()
    _choose(form)
    if form.validate_on_submit():
        ok, _activity = submit_form(form, lambda: services.record_activity(current_user, _input(form)), RENAMES)
        if ok:
            flash(_("The activity is recorded."), "success")
            return redirect(url_for("impact.activities"))
    page = render_template("impact/activity_form.html", form=form, activity=None, void_form=None)
    return page, 422 if form.errors else 200


@bp.route(f"{STAFF}/<int:activity_id>/edit", methods=["GET", "POST"])
@roles_required(*services.RECORDERS)
def edit_activity(activity_id: int):
    activity = services.get_activity(activity_id)
    services.check_can_change(current_user, activity)
    if activity.voided:
        raise InvalidTransition(_("A voided activity can no longer be changed."))
    form = ActivityForm(obj=activity) if request.method == "GET" else ActivityForm()
    if request.method == "GET":
        form.place.data = f"{activity.district}|{activity.street}|{activity.community}"
        form.fund.data = str(activity.fund_id or "")
        form.project.data = str(activity.project_id or "")
    _choose(form, activity)
    if form.validate_on_submit():
        ok, _activity = submit_form(
            form, lambda: services.update_activity(current_user, activity, _input(form)), RENAMES
        )
        if ok:
            flash(_("The activity is saved."), "success")
            return redirect(url_for("impact.activities"))
    page = render_template("impact/activity_form.html", form=form, activity=activity, void_form=VoidForm(formdata=None))
    return page, 422 if form.errors else 200


@bp.post(f"{STAFF}/<int:activity_id>/void")
@roles_required(*services.RECORDERS)
def void_activity(activity_id: int):
    activity = services.get_activity(activity_id)
    services.check_can_change(current_user, activity)
    void_form = VoidForm()
    if void_form.validate_on_submit():
        ok, _activity = submit_form(
            void_form, lambda: services.void_activity(current_user, activity, void_form.reason.data)
        )
        if ok:
            flash(_("The record is voided: it no longer counts."), "success")
            return redirect(url_for("impact.activities"))
    form = ActivityForm(obj=activity, formdata=None)
    form.place.data = f"{activity.district}|{activity.street}|{activity.community}"
    form.fund.data, form.project.data = str(activity.fund_id or ""), str(activity.project_id or "")
    _choose(form, activity)
    page = render_template("impact/activity_form.html", form=form, activity=activity, void_form=void_form)
    return page, 422


# --- public: the impact report -------------------------------------------------------------------


def _period() -> tuple[PeriodForm, report.Period | None]:
    form = PeriodForm(request.args)
    try:
        return form, report.parse_period(form.since.data, form.until.data)
    except report.BadPeriod as exc:
        for name, message in exc.fields.items():
            getattr(form, name).errors = [message]
        return form, None


@bp.get("/impact")
def page():
    form, period = _period()
    if period is None:
        return render_template("impact/report.html", form=form, report=None), 422
    found = report.build(period)
    form.since.data, form.until.data = period.since.isoformat(), period.until.isoformat()
    return render_template(
        "impact/report.html",
        form=form,
        report=found,
        charts=report.CHARTS,
        query={"since": period.since.isoformat(), "until": period.until.isoformat()},
    )


def _report_of_period() -> report.Report:
    _form, period = _period()
    if period is None:
        raise report.BadPeriod(_("The period is not valid."))
    return report.build(period)


@bp.get("/impact/charts/<name>.svg")
def chart(name: str):
    if name not in report.CHARTS:
        raise NotFound()
    response = Response(report.chart_svg(_report_of_period(), name), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _download(data: bytes, mimetype: str, found: report.Report, extension: str) -> Response:
    response = Response(data, mimetype=mimetype)
    name = f"impact-{found.period.since.isoformat()}-{found.period.until.isoformat()}.{extension}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/impact.csv")
def export_csv():
    found = _report_of_period()
    return _download(report.as_csv(found), "text/csv", found, "csv")


@bp.get("/impact.xlsx")
def export_xlsx():
    found = _report_of_period()
    return _download(
        report.as_xlsx(found), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", found, "xlsx"
    )
