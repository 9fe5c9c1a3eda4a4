"""Paying a wish in full online: the donor's form, and what the thank-you page says of the wish."""

from flask import Blueprint, abort, current_app, redirect, render_template, request
from flask_login import current_user

from core.auth import client_key
from core.errors import Conflict, LimitReached, ValidationError
from core.extensions import db, limiter
from core.transactions import transaction
from funds import donations
from funds.models import Channel, Donation
from payments import gateway
from payments.donate import channel_choices
from wishes import payments, queries, services
from wishes.models import Wish

bp = Blueprint("wishes_donate", __name__)


def _payable_wish(public_id: str):
    wish = services.get_public_wish(public_id)
    if not payments.wish_payable(wish):
        abort(404)
    return wish


def _source() -> str:
    return "qr" if request.values.get("src") == "qr" else "web"


def _render_wish(wish, values=None, errors=None, status=200):
    page = render_template(
        "wishes/donate_wish.html",
        wish=wish,
        source=_source(),
        channels=channel_choices(),
        values=values or {"channel": Channel.CARD.value},
        errors=errors or {},
        simulated=gateway.simulating(),
        unavailable=not gateway.available(),
    )
    return page, status


@bp.get("/donate/wish/<public_id>")
def donate_wish(public_id: str):
    return _render_wish(_payable_wish(public_id))


@bp.post("/donate/wish/<public_id>")
@limiter.limit(lambda: current_app.config["DONATION_RATE_LIMIT"])
def donate_wish_post(public_id: str):
    wish = services.get_public_wish(public_id)
    gateway.require_available()
    form = request.form
    values = {key: form.get(key, "").strip() for key in ("name", "contact", "display_name", "channel")}
    values["anonymous"] = bool(form.get("anonymous"))
    donor = donations.DonorInput(
        name=values["name"],
        contact=values["contact"],
        display_name=values["display_name"] or None,
        anonymous=values["anonymous"],
        client_key=client_key(),
    )
    account = current_user if current_user.is_authenticated else None
    try:
        with transaction():
            donation = payments.pay_for_wish(wish, donor, values["channel"], account, source=_source())
    except ValidationError as exc:
        errors = {("form" if k == "amount_fen" else k): str(v) for k, v in exc.fields.items()}
        return _render_wish(services.get_public_wish(public_id), values, errors or {"form": str(exc.message)}, 422)
    except (Conflict, LimitReached) as exc:
        return _render_wish(services.get_public_wish(public_id), values, {"form": str(exc.message)}, exc.status)
    return redirect(gateway.start_checkout(donation), 303)


def thanks_section(donation: Donation) -> tuple[str, dict] | None:
    """On the thank-you page of a donation that paid a wish: which wish, and a way to try again."""
    if donation.wish_id is None:
        return None
    wish = db.session.get(Wish, donation.wish_id)
    if wish is None:
        return None
    nearby = queries.open_wishes_near(wish) if donation.status == "succeeded" else []
    return "wishes/_donation_thanks.html", {"donation": donation, "wish": wish, "nearby": nearby}
