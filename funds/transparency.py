"""A fund's public transparency page: money in and out by month, fees, what the money bought.

Figures come from the ledger, leaving out simulated payments as every public figure does
(except on a demo site). What the public sees of a disbursement is its kind, its project
and its amount: a payee or purpose typed by staff is never shown. The projects the fund paid
for are listed with their progress, the same figure as the project's own page. Packages above
funds add sections (the wishes the fund fulfilled, with the photos a caseworker chose to show
in public; the last closed reconciliation) through TRANSPARENCY_SECTIONS, callables registered
at start-up that take the fund and return (template name, values). The chart is drawn by
ReportLab's chart library as SVG, with the same figures in a table beside it.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from flask import Blueprint, Response, current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from core import charts, dates
from core.clock import local_today
from core.extensions import db
from funds import queries
from funds.models import (
    DISBURSEMENT_KIND_LABELS,
    Account,
    Disbursement,
    DisbursementStatus,
    Donation,
    Entry,
    Fund,
    Journal,
    Project,
)

bp = Blueprint("funds_transparency", __name__)

TRANSPARENCY_SECTIONS = "funds.transparency_sections"
#: Months the page shows, the current one included.
MONTHS = 12


@dataclass(frozen=True)
class Month:
    month: date
    in_fen: int
    out_fen: int
    fee_fen: int


def _months_back(today: date, count: int) -> list[date]:
    year, month = today.year, today.month
    found = []
    for _step in range(count):
        found.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(found))


def by_month(fund: Fund, today: date) -> list[Month]:
    """Money in (donations less refunds and disputes), out (disbursements) and fees, per month."""
    months = _months_back(today, MONTHS)
    query = (
        select(Journal.posted_on, Account.code, Entry.amount_fen)
        .join(Entry, Entry.journal_id == Journal.id)
        .join(Account, Entry.account_id == Account.id)
        .where(Entry.fund_id == fund.id, Journal.posted_on >= months[0], ~Account.code.like("asset:%"))
    )
    if not current_app.config["DEMO_SITE"]:
        query = query.outerjoin(Donation, Journal.donation_id == Donation.id).where(
            or_(Donation.id.is_(None), Donation.simulated.is_(False))
        )
    totals: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for posted_on, code, amount in db.session.execute(query):
        month = posted_on.replace(day=1)
        if code.startswith("income:"):
            totals[month][0] -= amount
        elif code == "expense:fees":
            totals[month][2] += amount
        else:
            totals[month][1] += amount
    return [Month(m, *totals[m]) for m in months]


def bought(fund: Fund) -> list[tuple[Disbursement, Project | None]]:
    rows = db.session.execute(
        select(Disbursement, Project)
        .outerjoin(Project, Disbursement.project_id == Project.id)
        .where(Disbursement.fund_id == fund.id, Disbursement.status == DisbursementStatus.PAID)
        .order_by(Disbursement.decided_at.desc())
        .limit(50)
    )
    return [(d, p) for d, p in rows]


@dataclass(frozen=True)
class FundedProject:
    project: Project
    #: Paid out of this fund to the project.
    granted_fen: int
    #: What donors gave to the project, as its own page shows it, and that against its goal.
    raised_fen: int
    percent: int


def projects_funded(fund: Fund) -> list[FundedProject]:
    """The fund's projects that its grants or its donors paid for, with their progress towards the goal."""
    granted = dict(
        db.session.execute(
            select(Disbursement.project_id, func.sum(Disbursement.amount_fen))
            .where(
                Disbursement.fund_id == fund.id,
                Disbursement.status == DisbursementStatus.PAID,
                Disbursement.project_id.is_not(None),
            )
            .group_by(Disbursement.project_id)
        ).all()
    )
    found = []
    for project in queries.projects(fund):
        raised = queries.project_raised(project)
        if raised or granted.get(project.id):
            percent = min(100, raised * 100 // project.goal_fen)
            found.append(FundedProject(project, int(granted.get(project.id) or 0), raised, percent))
    return found


def chart_svg(months: list[Month]) -> str:
    """A grouped bar chart of the months, as an SVG document."""
    return charts.bar_chart_svg(
        [dates.compact_month(m.month) for m in months],
        [[m.in_fen / 100 for m in months], [m.out_fen / 100 for m in months], [m.fee_fen / 100 for m in months]],
        [_("Money in"), _("Money out"), _("Fees")],
    )


@bp.get("/funds/<slug>/transparency")
def page(slug: str):
    fund = queries.fund_by_slug(slug, public=True)
    months = by_month(fund, local_today())
    return render_template(
        "funds/transparency.html",
        fund=fund,
        figures=queries.fund_figures(fund, public=True),
        months=months,
        bought=bought(fund),
        projects=projects_funded(fund),
        kind_labels=DISBURSEMENT_KIND_LABELS,
        sections=[section(fund) for section in current_app.extensions[TRANSPARENCY_SECTIONS]],
    )


@bp.get("/funds/<slug>/transparency/chart.svg")
def chart(slug: str):
    fund = queries.fund_by_slug(slug, public=True)
    response = Response(chart_svg(by_month(fund, local_today())), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
