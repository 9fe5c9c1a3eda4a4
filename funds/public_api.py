"""The public fund API (DESIGN.md §5): every open fund with the figures `ledger check` derives."""

from flask import Blueprint, current_app
from pydantic import BaseModel, Field

from core.api import Link, api
from core.extensions import csrf
from core.urls import public_url
from funds import queries

bp = Blueprint("funds_public_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class FundOut(BaseModel):
    slug: str
    name: str
    description: str
    balance_fen: int = Field(description="Money held now: money in less refunds, fees and disbursements")
    raised_fen: int = Field(description="Donations received less refunds and disputed payments")
    spent_fen: int = Field(description="Disbursed for the fund's purpose")
    fees_fen: int = Field(description="Payment processor fees charged to the fund")
    currency: str
    url: str
    qr_url: str


class FundList(BaseModel):
    items: list[FundOut]


@api.route(
    bp,
    "GET",
    "/funds",
    "Open funds with balance, raised and spent",
    responses={200: ("Every open fund", FundList)},
    links={200: {"DonateToFirstFund": Link("create_donation", request_body={"fund": "$response.body#/items/0/slug"})}},
)
def list_funds():
    items = [
        FundOut(
            slug=fund.slug,
            name=fund.name,
            description=fund.description,
            balance_fen=figures.balance_fen,
            raised_fen=figures.raised_fen,
            spent_fen=figures.spent_fen,
            fees_fen=figures.fees_fen,
            currency=current_app.config["CURRENCY"],
            url=public_url("funds.public_fund", slug=fund.slug),
            qr_url=public_url("funds.fund_qr", slug=fund.slug, fmt="png"),
        )
        for fund, figures in queries.funds_with_figures(active_only=True, public=True)
    ]
    return FundList(items=items).model_dump(mode="json")
