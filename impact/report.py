"""The impact report: what the platform and the staff did in a period, counted the way the field reports count.

Every figure, exactly (docs/impact.md says the same for readers):

- wishes fulfilled: wishes whose gift a caseworker confirmed as received (fulfilled, and later
  closed) on a local day of the period;
- children helped: different children with at least one of those wishes;
- donors: different people who gave in the period — a paid donation still (partly) kept, or a
  claim whose wish was fulfilled — one person however many times they gave (an account, else
  the phone or e-mail as one key);
- couples: donations given by a couple (the marriage-registry certificates) still (partly) kept;
- raised: donations paid in the period, less what was refunded or is held in a dispute, in fen;
  simulated payments count only on a demo site, as in every public figure;
- sessions, children reached, people-times: the service activities staff recorded (voided ones
  never count); people served (人次) = the activities' people-times + wishes fulfilled.

By district (the wish's, the project's or the activity's; a gift to a whole fund has none), by fund
and by local month. Distinct counts (children, donors) are distinct within each row, so a donor who
gave in two months is counted in both months and once in the total. Only counts leave this module:
never a name, a child or a contact.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from core import charts, dates, spreadsheets
from core.clock import as_utc, local_today, zone
from core.contacts import contact_key
from core.errors import DomainError
from core.extensions import db
from core.money import fen_to_yuan_str
from funds.models import Donation, Fund, Project
from funds.queries import PAID, counted_in_public
from impact.models import ACTIVITY_KIND_LABELS, ActivityKind, ServiceActivity
from wishes.models import Claim, ClaimStatus, Wish, WishStatus

#: The longest period one report covers, in months: a chart of more is unreadable.
MAX_MONTHS = 120
#: The default period: the last twelve months, the current one included.
DEFAULT_MONTHS = 12


class BadPeriod(DomainError):
    status = 422
    code = "invalid_period"


@dataclass(frozen=True)
class Period:
    since: date
    until: date

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.since, time.min, tzinfo=zone()).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """The first moment after the period: the local midnight that ends `until`."""
        return datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=zone()).astimezone(UTC)

    def months(self) -> list[date]:
        found, month = [], self.since.replace(day=1)
        while month <= self.until:
            found.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return found

    def title(self) -> str:
        return _(
            "Impact from %(start)s to %(end)s",
            start=dates.day(self.since),
            end=dates.day(self.until),
        )


def _months_before(day: date, count: int) -> date:
    year, month = day.year, day.month - count
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def default_period(today: date | None = None) -> Period:
    today = today or local_today()
    return Period(_months_before(today, DEFAULT_MONTHS - 1), today)


def parse_period(since: str | None, until: str | None, today: date | None = None) -> Period:
    """The period a reader asked for (YYYY-MM-DD, both days included), or BadPeriod naming the field."""
    default = default_period(today)
    fields: dict[str, str] = {}
    days = {}
    for name, value, fallback in (("since", since, None), ("until", until, default.until)):
        value = (value or "").strip()
        if not value:
            days[name] = fallback
            continue
        try:
            days[name] = date.fromisoformat(value) if len(value) == 10 else None
        except ValueError:
            days[name] = None
        if days[name] is None or days[name].year < 2000:
            fields[name] = _("Give a date as YYYY-MM-DD.")
    if fields:
        raise BadPeriod(_("The period is not valid."), fields=fields)
    until_day = days["until"]
    since_day = days["since"] or _months_before(until_day, DEFAULT_MONTHS - 1)
    if since_day > until_day:
        raise BadPeriod(_("The period is not valid."), fields={"until": _("The end comes before the start.")})
    period = Period(since_day, until_day)
    if len(period.months()) > MAX_MONTHS:
        raise BadPeriod(
            _("The period is not valid."), fields={"since": _("A report covers at most %(n)d months.", n=MAX_MONTHS)}
        )
    return period


# --- the facts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fact:
    """One thing that happened, reduced to what the report counts and where it belongs."""

    month: date
    district: str
    fund_id: int | None
    wish: int = 0
    child: int | None = None
    donor: str | None = None
    couple: int = 0
    raised_fen: int = 0
    kind: str | None = None
    sessions: int = 0
    children_reached: int = 0
    activity_people: int = 0


def _local_month(moment: datetime) -> date:
    return as_utc(moment).astimezone(zone()).date().replace(day=1)


def _donor_key(user_id: int | None, contact: str | None) -> str | None:
    if user_id is not None:
        return f"user:{user_id}"
    key = contact_key(contact or "")
    return f"contact:{key}" if key else None


def _wish_facts(period: Period) -> list[_Fact]:
    rows = db.session.execute(
        select(Wish.id, Wish.child_id, Wish.district, Wish.fund_id, Wish.fulfilled_at).where(
            Wish.status.in_((WishStatus.FULFILLED, WishStatus.CLOSED)),
            Wish.fulfilled_at >= period.start_utc,
            Wish.fulfilled_at < period.end_utc,
        )
    ).all()
    facts = [_Fact(_local_month(r.fulfilled_at), r.district, r.fund_id, wish=1, child=r.child_id) for r in rows]
    # Whoever made the wish come true with a gift is a donor too.
    givers = db.session.execute(
        select(Claim.donor_id, Claim.contact, Wish.district, Wish.fund_id, Wish.fulfilled_at)
        .join(Wish, Claim.wish_id == Wish.id)
        .where(
            Claim.status == ClaimStatus.FULFILLED,
            Wish.status.in_((WishStatus.FULFILLED, WishStatus.CLOSED)),
            Wish.fulfilled_at >= period.start_utc,
            Wish.fulfilled_at < period.end_utc,
        )
    ).all()
    facts += [
        _Fact(_local_month(r.fulfilled_at), r.district, r.fund_id, donor=_donor_key(r.donor_id, r.contact))
        for r in givers
    ]
    return facts


def _donation_facts(period: Period) -> list[_Fact]:
    net = Donation.amount_fen - Donation.refunded_fen - Donation.disputed_fen
    rows = db.session.execute(
        select(
            Donation.donor_id,
            Donation.contact,
            Donation.donor_kind,
            Donation.fund_id,
            Donation.succeeded_at,
            net.label("net"),
            Project.district.label("project_district"),
            Wish.district.label("wish_district"),
        )
        .outerjoin(Project, Donation.project_id == Project.id)
        .outerjoin(Wish, Donation.wish_id == Wish.id)
        .where(
            Donation.status.in_(PAID),
            counted_in_public(),
            Donation.succeeded_at >= period.start_utc,
            Donation.succeeded_at < period.end_utc,
        )
    ).all()
    facts = []
    for r in rows:
        kept = r.net > 0
        facts.append(
            _Fact(
                _local_month(r.succeeded_at),
                r.wish_district or r.project_district or "",
                r.fund_id,
                donor=_donor_key(r.donor_id, r.contact) if kept else None,
                couple=int(kept and r.donor_kind == "couple"),
                raised_fen=int(r.net),
            )
        )
    return facts


def _activity_facts(period: Period) -> list[_Fact]:
    """The activities added up per day, place and kind in SQL: they carry no distinct count, so a
    season of a hundred thousand sessions reaches Python as a few thousand rows."""
    rows = db.session.execute(
        select(
            ServiceActivity.happened_on,
            ServiceActivity.district,
            ServiceActivity.fund_id,
            ServiceActivity.kind,
            func.count(),
            func.sum(ServiceActivity.children),
            func.sum(ServiceActivity.people),
        )
        .where(
            ServiceActivity.voided_at.is_(None),
            ServiceActivity.happened_on >= period.since,
            ServiceActivity.happened_on <= period.until,
        )
        .group_by(ServiceActivity.happened_on, ServiceActivity.district, ServiceActivity.fund_id, ServiceActivity.kind)
    )
    return [
        _Fact(
            day.replace(day=1),
            district,
            fund_id,
            kind=kind,
            sessions=int(sessions),
            children_reached=int(children or 0),
            activity_people=int(people or 0),
        )
        for day, district, fund_id, kind, sessions, children, people in rows
    ]


# --- adding up ---------------------------------------------------------------------------------


@dataclass
class Figures:
    """The report's figures for one row (the whole period, a district, a fund or a month)."""

    key: str
    label: str
    wishes_fulfilled: int = 0
    children_helped: int = 0
    donors: int = 0
    couples: int = 0
    raised_fen: int = 0
    sessions: int = 0
    children_reached: int = 0
    activity_people: int = 0
    _children: set = field(default_factory=set, repr=False)
    _donors: set = field(default_factory=set, repr=False)

    @property
    def people_served(self) -> int:
        """人次: the people-times of the activities and one per wish fulfilled."""
        return self.activity_people + self.wishes_fulfilled

    def add(self, fact: _Fact) -> None:
        self.wishes_fulfilled += fact.wish
        if fact.child is not None:
            self._children.add(fact.child)
        if fact.donor is not None:
            self._donors.add(fact.donor)
        self.couples += fact.couple
        self.raised_fen += fact.raised_fen
        self.sessions += fact.sessions
        self.children_reached += fact.children_reached
        self.activity_people += fact.activity_people
        self.children_helped, self.donors = len(self._children), len(self._donors)

    def as_dict(self) -> dict:
        return {
            "wishes_fulfilled": self.wishes_fulfilled,
            "children_helped": self.children_helped,
            "donors": self.donors,
            "couples": self.couples,
            "raised_fen": self.raised_fen,
            "sessions": self.sessions,
            "children_reached": self.children_reached,
            "activity_people": self.activity_people,
            "people_served": self.people_served,
        }


@dataclass(frozen=True)
class KindRow:
    kind: str
    label: str
    sessions: int
    children_reached: int
    people: int


@dataclass(frozen=True)
class Report:
    period: Period
    currency: str
    total: Figures
    by_district: list[Figures]
    by_fund: list[Figures]
    by_month: list[Figures]
    by_kind: list[KindRow]


def _group(facts: Iterable[_Fact], key: Callable[[_Fact], str], label: Callable[[str], str]) -> dict[str, Figures]:
    groups: dict[str, Figures] = {}
    for fact in facts:
        k = key(fact)
        if k not in groups:
            groups[k] = Figures(k, label(k))
        groups[k].add(fact)
    return groups


def build(period: Period) -> Report:
    facts = _wish_facts(period) + _donation_facts(period) + _activity_facts(period)
    total = Figures("total", _("All"))
    for fact in facts:
        total.add(fact)

    districts = _group(facts, lambda f: f.district, lambda k: k or _("Not tied to a district"))
    by_district = sorted(districts.values(), key=lambda g: (g.key == "", -g.people_served, g.key))

    fund_names = {f.id: (f.slug, f.name) for f in db.session.scalars(select(Fund))}
    funds = _group(
        facts,
        lambda f: fund_names[f.fund_id][0] if f.fund_id in fund_names else "",
        lambda k: next((name for slug, name in fund_names.values() if slug == k), None) or _("No fund"),
    )
    by_fund = sorted(funds.values(), key=lambda g: (g.key == "", -g.raised_fen, g.key))

    months = _group(facts, lambda f: f.month.isoformat()[:7], lambda k: k)
    by_month = [months.get(m.isoformat()[:7]) or Figures(m.isoformat()[:7], m.isoformat()[:7]) for m in period.months()]

    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for fact in facts:
        if fact.kind:
            kinds[fact.kind][0] += fact.sessions
            kinds[fact.kind][1] += fact.children_reached
            kinds[fact.kind][2] += fact.activity_people
    by_kind = [
        KindRow(kind.value, str(ACTIVITY_KIND_LABELS[kind]), *kinds[kind]) for kind in ActivityKind if kind in kinds
    ]
    return Report(period, current_app.config["CURRENCY"], total, by_district, by_fund, by_month, by_kind)


# --- charts (core/charts.py) -------------------------------------------------------------------------

CHARTS = ("people-by-month", "raised-by-month", "people-by-district")


def chart_svg(report: Report, name: str) -> str:
    """One of CHARTS as an SVG document; the page has the same figures in a table beside it."""
    if name == "people-by-month":
        return charts.bar_chart_svg(
            [f"{int(m.key[2:4]):02d}/{m.key[5:]}" for m in report.by_month],
            [[m.activity_people for m in report.by_month], [m.wishes_fulfilled for m in report.by_month]],
            [_("People served by activities"), _("Wishes fulfilled")],
        )
    if name == "raised-by-month":
        return charts.bar_chart_svg(
            [f"{int(m.key[2:4]):02d}/{m.key[5:]}" for m in report.by_month],
            [[m.raised_fen / 100 for m in report.by_month]],
            [_("Raised (yuan)")],
        )
    rows = report.by_district[:15]
    return charts.bar_chart_svg(
        [r.label for r in rows], [[r.people_served for r in rows]], [_("People served (人次)")], horizontal=True
    )


# --- the table to export -------------------------------------------------------------------------


def _header() -> list[str]:
    return [
        _("Grouped by"),
        _("Group"),
        _("Wishes fulfilled"),
        _("Children helped"),
        _("Donors"),
        _("Couples"),
        _("Raised (yuan)"),
        _("Sessions"),
        _("Children reached"),
        _("People-times of activities"),
        _("People served (人次)"),
    ]


def rows(report: Report, *, as_text: bool) -> list[list]:
    """The report as one table: a title, a header, then every row of every grouping."""

    def money(fen: int):
        return fen_to_yuan_str(fen) if as_text else fen / 100

    def line(grouping: str, f: Figures) -> list:
        return [
            grouping,
            f.label,
            f.wishes_fulfilled,
            f.children_helped,
            f.donors,
            f.couples,
            money(f.raised_fen),
            f.sessions,
            f.children_reached,
            f.activity_people,
            f.people_served,
        ]

    table: list[list] = [[report.period.title()], _header(), line(_("Whole period"), report.total)]
    table += [line(_("District"), f) for f in report.by_district]
    table += [line(_("Fund"), f) for f in report.by_fund]
    table += [line(_("Month"), f) for f in report.by_month]
    table += [
        [_("Kind of service"), k.label, "", "", "", "", "", k.sessions, k.children_reached, k.people, k.people]
        for k in report.by_kind
    ]
    return table


#: Width of each column in characters.
WIDTHS = (12, 26, 10, 10, 10, 10, 14, 10, 12, 14, 14)


def as_csv(report: Report) -> bytes:
    return spreadsheets.as_csv(rows(report, as_text=True))


def as_xlsx(report: Report) -> bytes:
    layout = spreadsheets.Layout(_("Impact"), WIDTHS, header_row=2, money_columns=(6,), date_columns=())
    return spreadsheets.as_xlsx(rows(report, as_text=False), layout)
