"""1+1 pairings (结对): a volunteer and a child, a contact at least once a month, an activity a year.

A caseworker (for their own children) or a supervisor records pairings; the volunteer logs
contacts from a private signed link on a phone, staff from the pairing's page. On the set
day of each month, volunteers with no contact logged that month get a reminder, once a
month (the dedupe key holds the month), whichever day after that the job first runs.
"""

import io
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from core import audit, dates
from core.audit import Actor
from core.clock import local_today
from core.contacts import PHONE_RE, normalise_contact
from core.errors import Forbidden, NotFound, ValidationError
from core.extensions import db
from core.models import Role, User
from core.spreadsheets import guard
from core.transactions import transaction
from core.urls import public_url
from reminders import services
from reminders.messages import LOCALES, Message, locale_for, queue_mail, queue_text, sign, unsign
from reminders.models import CONTACT_KIND_LABELS, ContactKind, Pairing, PairingContact
from wishes import services as wish_services
from wishes.models import Child

LINK_SALT = "pairing-volunteer"
BATCH = 1000


@dataclass
class PairingInput:
    volunteer_name: str = ""
    volunteer_contact: str = ""
    volunteer_locale: str = "zh_CN"
    start_date: date | None = None


def _check_pairing(data: PairingInput) -> dict:
    fields: dict = {}
    name = (data.volunteer_name or "").strip()
    if not name:
        fields["volunteer_name"] = _("Give the volunteer's name.")
    elif len(name) > 60:
        fields["volunteer_name"] = _("The name may be at most 60 characters.")
    email = phone = None
    try:
        contact, email = normalise_contact(data.volunteer_contact)
        phone = None if email else contact
    except ValueError as exc:
        fields["volunteer_contact"] = str(exc)
    if phone and not PHONE_RE.match(phone):
        fields["volunteer_contact"] = _("Give a mobile number or an e-mail address.")
    if not isinstance(data.start_date, date):
        fields["start_date"] = _("Give the start date.")
    elif data.start_date > local_today() + timedelta(days=90):
        fields["start_date"] = _("The start date must be within the next three months.")
    if fields:
        raise ValidationError(fields=fields)
    locale = data.volunteer_locale if data.volunteer_locale in LOCALES else "zh_CN"
    return {
        "volunteer_name": name,
        "volunteer_email": email,
        "volunteer_phone": phone,
        "volunteer_locale": locale,
        "start_date": data.start_date,
    }


def create_pairing(actor: User, child: Child, data: PairingInput) -> Pairing:
    wish_services.check_can_manage_child(actor, child)
    pairing = Pairing(child_id=child.id, created_by_id=actor.id, **_check_pairing(data))
    db.session.add(pairing)
    db.session.flush()
    audit.record(
        "pairing.created", pairing, actor, after={"child": child.id, "start_date": pairing.start_date.isoformat()}
    )
    return pairing


def end_pairing(actor: User, pairing: Pairing, end_date: date | None = None) -> Pairing:
    wish_services.check_can_manage_child(actor, pairing.child)
    end_date = end_date or local_today()
    if end_date < pairing.start_date:
        raise ValidationError(fields={"end_date": _("A pairing cannot end before it started.")})
    pairing.end_date = end_date
    # Whoever still holds the volunteer's link can no longer log against an ended pairing.
    pairing.link_version += 1
    db.session.flush()
    audit.record("pairing.ended", pairing, actor, after={"end_date": end_date.isoformat()})
    return pairing


def get_pairing(actor: User, pairing_id: int) -> Pairing:
    pairing = db.session.get(Pairing, pairing_id)
    if pairing is None:
        raise NotFound()
    wish_services.check_can_manage_child(actor, pairing.child)
    return pairing


def pairings_for(actor: User, *, active_on: date | None = None) -> list[Pairing]:
    query = select(Pairing).join(Child).options(joinedload(Pairing.child)).order_by(Pairing.start_date, Pairing.id)
    if not actor.has_role(Role.SUPERVISOR):
        query = query.where(Child.caseworker_id == actor.id)
    if active_on is not None:
        query = query.where(_active_on(active_on))
    return list(db.session.scalars(query))


def _active_on(day: date):
    return and_(Pairing.start_date <= day, or_(Pairing.end_date.is_(None), Pairing.end_date >= day))


# --- the volunteer's private link ----------------------------------------------------------------


def volunteer_link(pairing: Pairing) -> str:
    token = sign(LINK_SALT, {"p": pairing.id, "v": pairing.link_version})
    return public_url("reminders.volunteer_log", token=token)


def pairing_from_link(token: str) -> Pairing:
    payload = unsign(LINK_SALT, token)
    pairing = None
    if isinstance(payload, dict) and isinstance(payload.get("p"), int):
        pairing = db.session.get(Pairing, payload["p"])
    if pairing is None or payload.get("v") != pairing.link_version or pairing.end_date is not None:
        raise NotFound(_("This link is not valid any more. Ask the caseworker for a new one."))
    return pairing


def renew_link(actor: User, pairing: Pairing) -> Pairing:
    """A lost or shared link: the old one stops working."""
    wish_services.check_can_manage_child(actor, pairing.child)
    pairing.link_version += 1
    db.session.flush()
    audit.record("pairing.link_renewed", pairing, actor)
    return pairing


# --- contacts ------------------------------------------------------------------------------------


def log_contact(pairing: Pairing, actor: Actor, kind: str, happened_on, note: str | None) -> PairingContact:
    fields: dict = {}
    if kind not in set(ContactKind):
        fields["kind"] = _("Choose call, visit, activity or note.")
    if not isinstance(happened_on, date):
        fields["happened_on"] = _("Give the date.")
    elif happened_on > local_today():
        fields["happened_on"] = _("The date is in the future.")
    elif happened_on < pairing.start_date:
        fields["happened_on"] = _("The date is before the pairing started.")
    note = (note or "").strip()
    if len(note) > 1000:
        fields["note"] = _("The note may be at most 1000 characters.")
    if fields:
        raise ValidationError(fields=fields)
    if pairing.end_date is not None:
        raise Forbidden(_("This pairing has ended."))
    label = f"user:{actor.id}" if isinstance(actor, User) else actor
    contact = PairingContact(
        pairing_id=pairing.id, kind=kind, happened_on=happened_on, note=note or None, logged_by=label
    )
    db.session.add(contact)
    db.session.flush()
    audit.record("pairing.contact_logged", contact, actor, after={"kind": kind, "on": happened_on.isoformat()})
    return contact


# --- compliance ----------------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


@dataclass
class ComplianceRow:
    pairing: Pairing
    contacts_this_month: int
    last_contact: date | None
    #: Whole months without a contact, counting this one; 0 when in touch this month.
    months_behind: int
    activities_this_year: int


def compliance(actor: User, month: date) -> list[ComplianceRow]:
    """Every pairing active in `month`: in touch this month or, if not, for how long not."""
    first, after = month_start(month), next_month(month)
    last_day = after - timedelta(days=1)
    year_first, year_after = date(first.year, 1, 1), date(first.year + 1, 1, 1)
    pairings = [
        p for p in pairings_for(actor) if p.start_date <= last_day and (p.end_date is None or p.end_date >= first)
    ]
    ids = [p.id for p in pairings]
    if not ids:
        return []
    stats = {
        row.pairing_id: row
        for row in db.session.execute(
            select(
                PairingContact.pairing_id,
                func.count().filter(PairingContact.happened_on >= first).label("in_month"),
                func.max(PairingContact.happened_on).label("last"),
                func.count()
                .filter(
                    PairingContact.kind == ContactKind.ACTIVITY,
                    PairingContact.happened_on >= year_first,
                    PairingContact.happened_on < year_after,
                )
                .label("activities"),
            )
            .where(PairingContact.pairing_id.in_(ids), PairingContact.happened_on < after)
            .group_by(PairingContact.pairing_id)
        )
    }
    rows = []
    for pairing in pairings:
        stat = stats.get(pairing.id)
        in_month = stat.in_month if stat else 0
        last = stat.last if stat else None
        if in_month:
            behind = 0
        else:
            since = last if last is not None else pairing.start_date
            behind = max(1, months_between(since, first) + (0 if last is not None else 1))
        rows.append(ComplianceRow(pairing, in_month, last, behind, stat.activities if stat else 0))
    rows.sort(key=lambda r: (-r.months_behind, r.pairing.id))
    return rows


def year_activities(actor: User, year: int) -> list[PairingContact]:
    ids = [p.id for p in pairings_for(actor)]
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(PairingContact)
            .options(joinedload(PairingContact.pairing).joinedload(Pairing.child))
            .where(
                PairingContact.pairing_id.in_(ids),
                PairingContact.kind == ContactKind.ACTIVITY,
                PairingContact.happened_on >= date(year, 1, 1),
                PairingContact.happened_on < date(year + 1, 1, 1),
            )
            .order_by(PairingContact.happened_on)
        )
    )


def export_xlsx(actor: User, month: date) -> bytes:
    """The month's compliance table and the year's activities, as a workbook (aliases only)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = _("Contacts %(month)s", month=dates.month(month))
    sheet.append(
        [
            _("Volunteer"),
            _("Child"),
            _("Since"),
            _("Contacts this month"),
            _("Last contact"),
            _("Months behind"),
            _("Activities this year"),
        ]
    )
    for row in compliance(actor, month):
        sheet.append(
            [
                guard(row.pairing.volunteer_name),
                guard(row.pairing.child.alias),
                row.pairing.start_date,
                row.contacts_this_month,
                row.last_contact,
                row.months_behind,
                row.activities_this_year,
            ]
        )
    activities = book.create_sheet(_("Activities %(year)d", year=month.year))
    activities.append([_("Date"), _("Volunteer"), _("Child"), _("Note")])
    for contact in year_activities(actor, month.year):
        activities.append(
            [
                contact.happened_on,
                guard(contact.pairing.volunteer_name),
                guard(contact.pairing.child.alias),
                guard(contact.note or ""),
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the monthly reminder ------------------------------------------------------------------------


def send_pairing_reminders() -> int:
    """On or after the set day, remind each volunteer with no contact logged this month, once a month."""
    today = local_today()
    reminder_day = services.pairing_reminder_day()
    if today.day < reminder_day:
        return 0
    first = month_start(today)
    contacted = select(PairingContact.id).where(
        PairingContact.pairing_id == Pairing.id, PairingContact.happened_on >= first
    )
    queued, after_id = 0, 0
    while True:
        pairings = list(
            db.session.scalars(
                select(Pairing)
                .options(joinedload(Pairing.child))
                .where(
                    _active_on(today),
                    Pairing.start_date < first.replace(day=reminder_day),
                    ~contacted.exists(),
                    Pairing.id > after_id,
                )
                .order_by(Pairing.id)
                .limit(BATCH)
            )
        )
        if not pairings:
            break
        with transaction():
            for pairing in pairings:
                queued += _queue_pairing_reminder(pairing, first)
        after_id = pairings[-1].id
        db.session.expunge_all()
    return queued


def _queue_pairing_reminder(pairing: Pairing, first: date) -> bool:
    link = volunteer_link(pairing)
    alias = pairing.child.alias

    def compose() -> Message:
        return Message(
            subject=_("Have you been in touch with %(alias)s this month?", alias=alias),
            paragraphs=[
                _(
                    "%(name)s, no contact with %(alias)s has been logged this month yet. "
                    "A call or a visit at least once a month means a lot.",
                    name=pairing.volunteer_name,
                    alias=alias,
                ),
                _("Log it in a minute from your private link:"),
            ],
            links=[(_("Log a contact"), link)],
        )

    key = f"pairing:{pairing.id}:reminder:{first:%Y-%m}"
    if pairing.volunteer_email:
        return queue_mail(
            kind="pairing.reminder",
            address=pairing.volunteer_email,
            locale=locale_for(pairing.volunteer_email, pairing.volunteer_locale),
            compose=compose,
            dedupe_key=key,
        )
    if pairing.volunteer_phone:
        return queue_text(
            kind="pairing.reminder",
            phone=pairing.volunteer_phone,
            locale=pairing.volunteer_locale,
            compose=compose,
            dedupe_key=key,
        )
    return False


KIND_LABELS = CONTACT_KIND_LABELS
NEEDS = _l("At least one contact a month and one memorable activity a year.")
