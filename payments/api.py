"""The donation API (DESIGN.md §5): start a donation and pay at its checkout URL, read its public state."""

from typing import Annotated

from flask import Blueprint, current_app
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field, StrictBool, StrictInt, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from core.api import Link, Schema, api
from core.auth import client_key
from core.errors import ValidationError
from core.extensions import csrf, limiter
from core.transactions import transaction
from funds import donations
from funds.models import Channel, Donation, DonationStatus
from payments import gateway

bp = Blueprint("payments_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

ONLINE = ("card", "alipay", "wechat_pay")
#: Donation targets that the packages built on payments handle, registered at start-up:
#: name → callable(reference, amount_fen, donor, channel, account) returning a pending Donation.
DONATION_TARGETS = "payments.donation_targets"


class DonationIn(Schema):
    fund: str | None = Field(None, max_length=60, description="Slug of a special fund")
    project: str | None = Field(None, max_length=60, description="Slug of a charity project")
    campaign: str | None = Field(None, max_length=60, description="Slug of a campaign")
    wish: str | None = Field(
        None, max_length=24, description="Public id of a wish paid in full online: amount_fen is the wish's amount"
    )
    amount_fen: StrictInt = Field(ge=1, description="Whole fen (1 yuan = 100 fen)")
    currency: str | None = Field(None, max_length=3, description="If given, must be the site's currency")
    name: str = Field(min_length=1, max_length=60)
    contact: str = Field(min_length=3, max_length=254, description="Mobile number or e-mail address")
    channel: Annotated[Channel, WithJsonSchema({"type": "string", "enum": list(ONLINE)})] = Channel.CARD
    display_name: str | None = Field(None, max_length=60)
    anonymous: StrictBool = False
    partner_name: str | None = Field(None, max_length=60, description="The second name of a couple giving together")

    @field_validator("channel")
    @classmethod
    def _online(cls, channel: Channel) -> Channel:
        if channel.value not in ONLINE:
            raise PydanticCustomError("online_channel", _("Choose card, Alipay or WeChat Pay."))
        return channel


class DonationOut(BaseModel):
    id: str
    status: DonationStatus
    amount_fen: int
    currency: str
    receipt_no: str | None = Field(None, description="Set once the payment succeeded")
    fund: str = Field(description="Slug of the fund the money goes to")


class DonationCreated(BaseModel):
    donation: DonationOut
    checkout_url: str


def donation_out(donation: Donation) -> DonationOut:
    succeeded = donation.status not in (DonationStatus.PENDING, DonationStatus.FAILED)
    return DonationOut(
        id=donation.public_id,
        status=donation.status,
        amount_fen=donation.amount_fen,
        currency=donation.currency,
        receipt_no=donation.receipt_no if succeeded else None,
        fund=donation.fund.slug,
    )


@api.route(
    bp,
    "POST",
    "/donations",
    "Start a donation to one fund, project, campaign or wish; pay at checkout_url",
    body=DonationIn,
    responses={
        201: ("Created, waiting for payment", DonationCreated),
        404: ("No such public wish", None),
        409: ("The wish is no longer open", None),
        415: ("The body is not JSON", None),
        422: ("A field is not valid, or the target is not open for donations", None),
        429: ("Too many donations from this address, or this donor holds too many wishes", None),
        502: ("The payment service did not answer", None),
        503: ("This site takes no online payments", None),
    },
    links={201: {"GetDonation": Link("get_donation", {"public_id": "$response.body#/donation/id"})}},
    decorators=[limiter.limit(lambda: current_app.config["DONATION_RATE_LIMIT"])],
)
def create_donation(body: DonationIn):
    if body.currency is not None and body.currency.upper() != current_app.config["CURRENCY"]:
        raise ValidationError(
            fields={"currency": _("Donations are taken in %(currency)s.", currency=current_app.config["CURRENCY"])}
        )
    donor = donations.DonorInput(
        name=body.name,
        contact=body.contact,
        display_name=body.display_name,
        anonymous=body.anonymous,
        partner_name=body.partner_name,
        client_key=client_key(),
    )
    gateway.require_available()
    account = current_user if current_user.is_authenticated else None
    handlers = current_app.extensions[DONATION_TARGETS]
    with transaction():
        if body.wish and not (body.fund or body.project or body.campaign) and "wish" in handlers:
            donation = handlers["wish"](body.wish, body.amount_fen, donor, body.channel.value, account)
        else:
            target = donations.resolve_target(
                fund=body.fund, project=body.project, campaign=body.campaign, wish=body.wish
            )
            donation = donations.create_donation(target, body.amount_fen, donor, body.channel.value, account)
    url = gateway.start_checkout(donation)
    return DonationCreated(donation=donation_out(donation), checkout_url=_absolute(url)).model_dump(mode="json"), 201


def _absolute(url: str) -> str:
    if url.startswith("/"):
        return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url
    return url


@api.route(
    bp,
    "GET",
    "/donations/<public_id>",
    "A donation's public state: never the donor's contact",
    responses={200: ("The donation", DonationOut), 404: ("No such donation", None)},
)
def get_donation(public_id: str):
    return donation_out(donations.get_donation(public_id)).model_dump(mode="json")
