"""`GET /api/v1/impact`: the impact report's figures for a period, the same as the public page's."""

from flask import Blueprint
from pydantic import BaseModel, Field

from core.api import Schema, api
from core.extensions import csrf
from core.urls import public_url
from impact import report

bp = Blueprint("impact_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class ImpactQuery(Schema):
    since: str | None = Field(
        None, description="First local day (YYYY-MM-DD); default: the first day of the month eleven months back"
    )
    until: str | None = Field(None, description="Last local day, included (YYYY-MM-DD); default: today")


class ImpactFigures(BaseModel):
    wishes_fulfilled: int = Field(description="Wishes confirmed as received by the child in the period")
    children_helped: int = Field(description="Different children with a wish fulfilled")
    donors: int = Field(description="Different people who gave: a donation still kept, or a fulfilled wish's claim")
    couples: int = Field(description="Donations given by a couple (certificates), still kept")
    raised_fen: int = Field(description="Donations paid in the period less refunds and held disputes, in fen")
    sessions: int = Field(description="Service activities recorded by staff (场次)")
    children_reached: int = Field(description="Children the activities reached, added up per session")
    activity_people: int = Field(description="People-times (人次) of the activities")
    people_served: int = Field(description="People served (人次): activity people-times plus wishes fulfilled")


class DistrictFigures(ImpactFigures):
    district: str | None = Field(description="The district; null for gifts to a whole fund or project")


class FundFigures(ImpactFigures):
    fund: str | None = Field(description="The fund's slug; null for what no fund paid or received")
    name: str


class MonthFigures(ImpactFigures):
    month: str = Field(description="YYYY-MM, local time")


class KindFigures(BaseModel):
    kind: str
    label: str
    sessions: int
    children_reached: int
    people: int = Field(description="People-times (人次)")


class ImpactOut(BaseModel):
    since: str
    until: str
    currency: str
    totals: ImpactFigures
    by_district: list[DistrictFigures]
    by_fund: list[FundFigures]
    by_month: list[MonthFigures]
    by_kind: list[KindFigures]
    url: str


@api.route(
    bp,
    "GET",
    "/impact",
    "The impact report's figures: wishes, children, donors, couples, money and people served (人次)",
    query=ImpactQuery,
    responses={
        200: ("The figures of the period, in total, by district, by fund, by month and by kind of service", ImpactOut),
        422: ("A date is not YYYY-MM-DD, the end comes before the start, or the period is too long", None),
    },
)
def impact(query: ImpactQuery):
    found = report.build(report.parse_period(query.since, query.until))
    return ImpactOut(
        since=found.period.since.isoformat(),
        until=found.period.until.isoformat(),
        currency=found.currency,
        totals=ImpactFigures(**found.total.as_dict()),
        by_district=[DistrictFigures(district=f.key or None, **f.as_dict()) for f in found.by_district],
        by_fund=[FundFigures(fund=f.key or None, name=f.label, **f.as_dict()) for f in found.by_fund],
        by_month=[MonthFigures(month=f.key, **f.as_dict()) for f in found.by_month],
        by_kind=[
            KindFigures(
                kind=k.kind, label=k.label, sessions=k.sessions, children_reached=k.children_reached, people=k.people
            )
            for k in found.by_kind
        ],
        url=public_url("impact.page", since=found.period.since.isoformat(), until=found.period.until.isoformat()),
    ).model_dump(mode="json")
