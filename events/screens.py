"""Campaign screens: a projector view of a campaign's total and, for a couples' campaign, its wall.

A gift that counts on the campaign's public total appends one `gift` message to the
campaign's log, in the transaction that recorded the payment, after taking the campaign's
row lock (FOR NO KEY UPDATE, which a donation's foreign key check does not wait for): gifts
to one campaign are serialised, so message ids increase in commit order. The message
carries only what the wall shows: the gift's wall name (couples' campaigns; none when the
couple asked to stay anonymous, the screen then says 爱心人士 in its own language), and the
campaign's total and count after the gift. The open screens are woken once the transaction
commits (`events.receivers`) and read the log through the same stream as an event's board.
"""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from core.extensions import db
from events.broker import campaign_topic
from events.models import CampaignMessage
from funds import queries as fund_queries
from funds.models import Campaign, CampaignKind

#: Session.info key: topics of the campaigns that got messages in the session's open transaction.
WAKE_KEY = "campaigns_to_wake"
#: Names a screen shows.
NAMES = 12


@dataclass(frozen=True)
class Figures:
    total_fen: int
    count: int
    names: list[str | None]


def get_campaign(slug: str) -> Campaign:
    """A couples' campaign has a screen as long as it has a wall; any other while it takes gifts."""
    campaign = fund_queries.campaign_by_slug(slug)
    if campaign.kind != CampaignKind.COUPLE:
        campaign = fund_queries.campaign_by_slug(slug, public=True)
    return campaign


def is_couples(campaign: Campaign) -> bool:
    return campaign.kind == CampaignKind.COUPLE


def figures(campaign: Campaign, names: int = NAMES) -> Figures:
    """The public figures: the wall's for a couples' campaign (net kept, couples, newest names), else the campaign page's."""
    if is_couples(campaign):
        wall = fund_queries.campaign_wall(campaign.slug, 1, names)
        return Figures(wall.total_fen, wall.couples, [entry.name for entry in wall.items])
    total, count = fund_queries.campaign_totals(campaign)
    return Figures(total, count, [])


def last_message_id(campaign: Campaign) -> int:
    return (
        db.session.scalar(select(func.max(CampaignMessage.id)).where(CampaignMessage.campaign_id == campaign.id)) or 0
    )


def campaign_messages_after(connection, campaign_id: int, last_id: int, limit: int = 500) -> list:
    """The campaign's messages after `last_id`, oldest first, read on a plain connection (no ORM session)."""
    table = CampaignMessage.__table__
    return list(
        connection.execute(
            select(table.c.id, table.c.kind, table.c.data)
            .where(table.c.campaign_id == campaign_id, table.c.id > last_id)
            .order_by(table.c.id)
            .limit(limit)
        )
    )


def _counted(donation) -> bool:
    return current_app.config["DEMO_SITE"] or not donation.simulated


def on_donation_succeeded(donation, **_kwargs) -> None:
    """A gift to a campaign, online or offline, appends its screen's message."""
    if donation.campaign_id is None or not _counted(donation):
        return
    locked = db.session.scalar(
        select(Campaign.id).where(Campaign.id == donation.campaign_id).with_for_update(key_share=True)
    )
    campaign = db.session.get(Campaign, locked) if locked is not None else None
    if campaign is None:
        return
    db.session.flush()
    now = figures(campaign, names=0)
    name = None
    if is_couples(campaign) and not donation.anonymous:
        name = fund_queries.wall_name(donation)
    message = CampaignMessage(
        campaign_id=campaign.id,
        kind="gift",
        data={"name": name, "total_fen": now.total_fen, "count": now.count},
    )
    db.session.add(message)
    db.session.flush()
    db.session.info.setdefault(WAKE_KEY, set()).add(campaign_topic(campaign.id))
