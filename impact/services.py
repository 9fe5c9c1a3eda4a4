"""Recording service activities: check, write, audit. Every change is audited; a record made in
error is voided with a reason, never deleted, so that a report once published can be explained.

Who: caseworkers and supervisors record; the one who recorded an activity, or a supervisor, edits
or voids it; fund administrators (and admins) read them for the report.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.clock import local_today, utcnow
from core.errors import Forbidden, InvalidTransition, NotFound, ValidationError
from core.extensions import db
from core.models import Role, User
from funds.models import Fund, Project
from impact.models import ActivityKind, ServiceActivity
from wishes import pii, places

#: Staff who record activities, and who may read them.
RECORDERS = (Role.CASEWORKER, Role.SUPERVISOR)
READERS = (Role.CASEWORKER, Role.SUPERVISOR, Role.FUND_ADMIN)
#: The most people-times one session may count: a school assembly, not a typo.
MAX_PEOPLE = 5000
NOTE_MAX = 1000
#: How far back an activity may be recorded: the field reports cover a year or two.
MAX_AGE_DAYS = 3 * 366

#: The fields an edit may change, as the audit row names them.
FIELDS = (
    "happened_on",
    "kind",
    "district",
    "street",
    "community",
    "fund_id",
    "project_id",
    "children",
    "people",
    "note",
)


@dataclass(frozen=True)
class ActivityInput:
    happened_on: date | None
    kind: str
    #: The place as the form gives it: "district|street|community" of the managed list.
    place: str
    children: int | None
    people: int | None
    note: str = ""
    fund_id: int | None = None
    project_id: int | None = None


def check_can_read(actor: User) -> None:
    if not actor.has_role(*READERS):
        raise Forbidden()


def check_can_record(actor: User) -> None:
    if not actor.has_role(*RECORDERS):
        raise Forbidden()


def check_can_change(actor: User, activity: ServiceActivity) -> None:
    """The one who recorded it, or a supervisor."""
    check_can_record(actor)
    if activity.recorded_by_id != actor.id and not actor.has_role(Role.SUPERVISOR):
        raise Forbidden(_("Only the person who recorded this activity, or a supervisor, may change it."))


def _clean(data: ActivityInput) -> dict:
    """The activity's values, or a ValidationError naming every field that is wrong; nothing is written."""
    fields: dict[str, str] = {}
    today = local_today()
    if data.happened_on is None:
        fields["happened_on"] = _("Give the day it took place.")
    elif data.happened_on > today:
        fields["happened_on"] = _("Record an activity once it has taken place.")
    elif data.happened_on < today - timedelta(days=MAX_AGE_DAYS):
        fields["happened_on"] = _("That is more than three years ago.")
    if data.kind not in set(ActivityKind):
        fields["kind"] = _("Choose what kind of service it was.")
    district, street, community = places.split(data.place)
    if not district or not places.is_known(district, street, community):
        fields["place"] = _("Choose a place from the list of places.")
    if data.people is None or data.people < 1:
        fields["people"] = _("Count at least one person served.")
    elif data.people > MAX_PEOPLE:
        fields["people"] = _("At most %(n)d people-times in one session.", n=MAX_PEOPLE)
    if data.children is None or data.children < 0:
        fields["children"] = _("Give the number of children reached (0 when there were none).")
    elif data.people is not None and "people" not in fields and data.children > data.people:
        fields["children"] = _("Each child reached is at least one of the people-times served.")
    fund_id, project_id = data.fund_id, data.project_id
    if project_id is not None:
        project = db.session.get(Project, project_id)
        if project is None:
            fields["project_id"] = _("Choose a project from the list.")
        elif fund_id is not None and fund_id != project.fund_id:
            fields["fund_id"] = _("The project belongs to another fund.")
        else:
            fund_id = project.fund_id
    if fund_id is not None and db.session.get(Fund, fund_id) is None:
        fields["fund_id"] = _("Choose a fund from the list.")
    note = (data.note or "").strip()
    if len(note) > NOTE_MAX:
        fields["note"] = _("The note may be at most %(n)d characters.", n=NOTE_MAX)
    elif note and "place" not in fields:
        # The same detector as a wish's story, against every child's file in the district.
        found = pii.scan(note, pii.district_values(district))
        if found:
            labels = "、".join(dict.fromkeys(w.label for w in found))
            fields["note"] = _(
                "Never a child's name or personal data on an activity: leave out %(kinds)s.", kinds=labels
            )
    if fields:
        raise ValidationError(fields=fields)
    return {
        "happened_on": data.happened_on,
        "kind": data.kind,
        "district": district,
        "street": street,
        "community": community,
        "fund_id": fund_id,
        "project_id": project_id,
        "children": data.children,
        "people": data.people,
        "note": note or None,
    }


def _snapshot(values: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}


def record_activity(actor: User, data: ActivityInput) -> ServiceActivity:
    check_can_record(actor)
    values = _clean(data)
    activity = ServiceActivity(**values, recorded_by_id=actor.id, created_at=utcnow(), updated_at=utcnow())
    db.session.add(activity)
    db.session.flush()
    audit.record("activity.recorded", activity, actor, after=_snapshot({k: values[k] for k in FIELDS if k != "note"}))
    return activity


def update_activity(actor: User, activity: ServiceActivity, data: ActivityInput) -> ServiceActivity:
    check_can_change(actor, activity)
    if activity.voided:
        raise InvalidTransition(_("A voided activity can no longer be changed."))
    values = _clean(data)
    before = {name: getattr(activity, name) for name in FIELDS}
    changed = {name: value for name, value in values.items() if before[name] != value}
    if not changed:
        return activity
    for name, value in changed.items():
        setattr(activity, name, value)
    activity.updated_at = utcnow()
    db.session.flush()
    # The note's words stay on the record only: the audit says that it changed.
    shown = {k: ("…" if k == "note" else v) for k, v in changed.items()}
    audit.record(
        "activity.updated",
        activity,
        actor,
        before=_snapshot({k: ("…" if k == "note" else before[k]) for k in changed}),
        after=_snapshot(shown),
    )
    return activity


def void_activity(actor: User, activity: ServiceActivity, reason: str) -> ServiceActivity:
    """The record was a mistake: it stops counting, and stays on file with who voided it and why."""
    check_can_change(actor, activity)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError(fields={"reason": _("Say why this record is voided.")})
    if len(reason) > 200:
        raise ValidationError(fields={"reason": _("The reason may be at most 200 characters.")})
    if pii.scan(reason, pii.district_values(activity.district)):
        raise ValidationError(fields={"reason": _("Leave personal data out of the reason.")})
    # A conditional update: of two people voiding at once, one does it and the other is told.
    voided = db.session.execute(
        db.update(ServiceActivity)
        .where(ServiceActivity.id == activity.id, ServiceActivity.voided_at.is_(None))
        .values(voided_at=utcnow(), voided_by_id=actor.id, void_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not voided:
        raise InvalidTransition(_("This activity is voided already."))
    db.session.refresh(activity)
    audit.record("activity.voided", activity, actor, before={"voided": False}, after={"voided": True}, note=reason)
    return activity


def get_activity(activity_id: int) -> ServiceActivity:
    activity = db.session.get(ServiceActivity, activity_id)
    if activity is None:
        raise NotFound()
    return activity


@dataclass(frozen=True)
class ActivityFilter:
    since: date | None = None
    until: date | None = None
    kind: str | None = None
    district: str | None = None
    include_voided: bool = False


def activities(actor: User, where: ActivityFilter, limit: int = 500) -> list[ServiceActivity]:
    """The newest first, within the filter."""
    check_can_read(actor)
    query = select(ServiceActivity).order_by(ServiceActivity.happened_on.desc(), ServiceActivity.id.desc())
    if where.since:
        query = query.where(ServiceActivity.happened_on >= where.since)
    if where.until:
        query = query.where(ServiceActivity.happened_on <= where.until)
    if where.kind:
        query = query.where(ServiceActivity.kind == where.kind)
    if where.district:
        query = query.where(ServiceActivity.district == where.district)
    if not where.include_voided:
        query = query.where(ServiceActivity.voided_at.is_(None))
    return list(db.session.scalars(query.limit(limit)))


def added_up(found: list[ServiceActivity]) -> dict[str, int]:
    """Sessions, children and people-times of a list, voided records left out."""
    counted = [a for a in found if not a.voided]
    return {
        "sessions": len(counted),
        "children": sum(a.children for a in counted),
        "people": sum(a.people for a in counted),
    }


def districts_recorded() -> list[str]:
    """Districts that have activities or are on the places list: the list filter's choices."""
    found = {p.district for p in places.all_places()}
    found.update(db.session.scalars(select(ServiceActivity.district).distinct()))
    return sorted(found)
