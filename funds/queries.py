"""Reading funds, projects, campaigns and donations for pages and the API."""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select, true

from core.errors import NotFound
from core.extensions import db
from core.i18n import ANONYMOUS_NAME
from core.text import masked_name
from funds import ledger
from funds.models import (
    Campaign,
    CampaignKind,
    Donation,
    DonationStatus,
    Fund,
    Project,
)

#: Donations whose money arrived (some of it may since have gone back).
PAID = (
    DonationStatus.SUCCEEDED,
    DonationStatus.PARTIALLY_REFUNDED,
    DonationStatus.REFUNDED,
    DonationStatus.DISPUTED,
)


def funds(*, active_only: bool = False) -> list[Fund]:
    statement = select(Fund).order_by(Fund.name, Fund.id)
    if active_only:
        statement = statement.where(Fund.active.is_(True))
    return list(db.session.scalars(statement))


def _public() -> dict:
    """What a figure shown to the public leaves out: simulated donations, except on a demo site."""
    return {"without_simulated": not current_app.config["DEMO_SITE"]}


def counted_in_public():
    """The donations a public total counts (see _public)."""
    return true() if current_app.config["DEMO_SITE"] else Donation.simulated.is_(False)


def funds_with_figures(*, active_only: bool = False, public: bool = False) -> list[tuple[Fund, ledger.FundFigures]]:
    figures = ledger.figures(**(_public() if public else {}))
    return [(fund, figures.get(fund.id, ledger.FundFigures(0, 0, 0))) for fund in funds(active_only=active_only)]


def fund_figures(fund: Fund, *, public: bool = False) -> ledger.FundFigures:
    return ledger.figures(**(_public() if public else {})).get(fund.id, ledger.FundFigures(0, 0, 0))


def _one(model, **where):
    found = db.session.scalar(select(model).filter_by(**where))
    if found is None:
        raise NotFound()
    return found


def fund_by_slug(slug: str, *, public: bool = False) -> Fund:
    fund = _one(Fund, slug=slug)
    if public and not fund.active:
        raise NotFound()
    return fund


def project_by_slug(slug: str, *, public: bool = False) -> Project:
    """In public, a project is shown while its fund is open; a closed project still shows what it raised."""
    project = _one(Project, slug=slug)
    if public and not project.fund.active:
        raise NotFound()
    return project


def campaign_by_slug(slug: str, *, public: bool = False) -> Campaign:
    campaign = _one(Campaign, slug=slug)
    if public and not (campaign.active and campaign.fund.active):
        raise NotFound()
    return campaign


def get_project(project_id: int) -> Project:
    return _one(Project, id=project_id)


def get_donation(donation_id: int) -> Donation:
    return _one(Donation, id=donation_id)


def projects(fund: Fund | None = None, *, open_only: bool = False) -> list[Project]:
    statement = select(Project).order_by(Project.created_at.desc(), Project.id.desc())
    if fund is not None:
        statement = statement.where(Project.fund_id == fund.id)
    if open_only:
        statement = statement.where(Project.status == "open")
    return list(db.session.scalars(statement))


def campaigns(fund: Fund | None = None, *, active_only: bool = False) -> list[Campaign]:
    statement = select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    if fund is not None:
        statement = statement.where(Campaign.fund_id == fund.id)
    if active_only:
        statement = statement.where(Campaign.active.is_(True))
    return list(db.session.scalars(statement))


def donations(fund: Fund, limit: int = 500) -> list[Donation]:
    return list(
        db.session.scalars(
            select(Donation)
            .where(Donation.fund_id == fund.id)
            .order_by(Donation.created_at.desc(), Donation.id.desc())
            .limit(limit)
        )
    )


def _net_raised(*where) -> int:
    net = Donation.amount_fen - Donation.refunded_fen - Donation.disputed_fen
    return int(db.session.scalar(select(func.coalesce(func.sum(net), 0)).where(Donation.status.in_(PAID), *where)) or 0)


def raised_by_project() -> dict[int, int]:
    net = Donation.amount_fen - Donation.refunded_fen - Donation.disputed_fen
    rows = db.session.execute(
        select(Donation.project_id, func.sum(net))
        .where(Donation.status.in_(PAID), Donation.project_id.is_not(None))
        .group_by(Donation.project_id)
    )
    return {project_id: int(total or 0) for project_id, total in rows}


def project_raised(project: Project) -> int:
    """What donors gave to the project and kept there: refunds and held disputes are taken off."""
    return _net_raised(Donation.project_id == project.id, counted_in_public())


def campaign_totals(campaign: Campaign) -> tuple[int, int]:
    """(money kept, number of gifts) of a campaign."""
    count = db.session.scalar(
        select(func.count(Donation.id)).where(
            Donation.campaign_id == campaign.id, Donation.status.in_(PAID), counted_in_public()
        )
    )
    return _net_raised(Donation.campaign_id == campaign.id, counted_in_public()), int(count or 0)


# --- a couples' campaign wall and a donor's own donations -----------------------------------------


@dataclass(frozen=True)
class WallEntry:
    name: str
    at: datetime


@dataclass
class Wall:
    campaign: Campaign
    total_fen: int
    currency: str
    couples: int
    items: list[WallEntry]
    page: int
    per_page: int

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.couples

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.couples // self.per_page))


def wall_name(donation: Donation) -> str:
    """爱心人士 when anonymous, else the chosen display name, else the names masked (李** & 王**)."""
    if donation.anonymous:
        return str(ANONYMOUS_NAME)
    if donation.display_name:
        return donation.display_name
    if donation.partner_name:
        return f"{masked_name(donation.name)} & {masked_name(donation.partner_name)}"
    return masked_name(donation.name)


def campaign_wall(slug: str, page: int = 1, per_page: int = 24) -> Wall:
    """A couples' campaign: net money kept, couples whose gift still counts, the latest names."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None or campaign.kind != CampaignKind.COUPLE:
        raise NotFound()
    net = Donation.amount_fen - Donation.refunded_fen - Donation.disputed_fen
    counted = (Donation.campaign_id == campaign.id, Donation.status.in_(PAID), net > 0, counted_in_public())
    total, couples = db.session.execute(
        select(func.coalesce(func.sum(net), 0), func.count()).select_from(Donation).where(*counted)
    ).one()
    rows = db.session.scalars(
        select(Donation)
        .where(*counted)
        .order_by(Donation.succeeded_at.desc(), Donation.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = [WallEntry(wall_name(d), d.succeeded_at or d.created_at) for d in rows]
    return Wall(campaign, int(total or 0), current_app.config["CURRENCY"], int(couples or 0), items, page, per_page)


def donations_of(user) -> list[Donation]:
    """Donations made while signed in to this account, newest first."""
    return list(
        db.session.scalars(
            select(Donation)
            .where(Donation.donor_id == user.id)
            .order_by(Donation.created_at.desc(), Donation.id.desc())
        )
    )
