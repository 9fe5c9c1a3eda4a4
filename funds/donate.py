"""The donor's pages: choose an amount, pay (Stripe Checkout or the offline simulator), thank-you."""

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.errors import Conflict, ValidationError
from core.extensions import db
from core.money import MoneyError, parse_yuan
from funds import payments, services
from funds.models import CHANNEL_LABELS, ONLINE_CHANNELS, CampaignKind, Channel, DonationStatus
from wishes.models import Wish
from wishes.services import get_public_wish

bp = Blueprint("funds_donate", __name__)

KINDS = ("fund", "project", "campaign")
#: Offered when a campaign names no presets of its own, in fen.
DEFAULT_PRESETS = (2000, 5000, 10000, 20000)
CHANNELS = [c for c in Channel if c in ONLINE_CHANNELS]


def _target(kind: str, slug: str) -> services.Target:
    if kind not in KINDS:
        abort(404)
    try:
        return services.resolve_target(**{kind: slug})
    except ValidationError:
        abort(404)


def _title(target: services.Target) -> str:
    if target.campaign:
        return target.campaign.title
    if target.project:
        return target.project.title
    return target.fund.name


def _render(kind, slug, target, values=None, errors=None, status=200):
    presets = (target.campaign.presets if target.campaign and target.campaign.presets else None) or DEFAULT_PRESETS
    page = render_template(
        "funds/donate.html",
        kind=kind,
        slug=slug,
        target=target,
        title=_title(target),
        presets=presets,
        couple=bool(target.campaign and target.campaign.kind == CampaignKind.COUPLE),
        channels=[(c.value, CHANNEL_LABELS[c]) for c in CHANNELS],
        values=values or {"channel": Channel.CARD.value, "preset": str(presets[0]), "amount": ""},
        errors=errors or {},
        simulated=not payments.enabled(),
    )
    return page, status


@bp.get("/donate/<kind>/<slug>")
def donate(kind: str, slug: str):
    return _render(kind, slug, _target(kind, slug))


@bp.post("/donate/<kind>/<slug>")
def donate_post(kind: str, slug: str):
    target = _target(kind, slug)
    form = request.form
    values = {
        key: form.get(key, "").strip()
        for key in ("preset", "amount", "name", "contact", "display_name", "partner_name", "channel")
    }
    values["anonymous"] = bool(form.get("anonymous"))
    try:
        amount_fen = parse_yuan(values["amount"]) if values["amount"] else int(values["preset"])
    except (MoneyError, ValueError):
        return _render(
            kind, slug, target, values, {"amount": _("Give an amount in yuan, with at most two decimals.")}, 422
        )
    donor = services.DonorInput(
        name=values["name"],
        contact=values["contact"],
        display_name=values["display_name"] or None,
        anonymous=values["anonymous"],
        partner_name=values["partner_name"] or None,
    )
    account = current_user if current_user.is_authenticated else None
    try:
        donation = services.create_donation(target, amount_fen, donor, values["channel"], account)
    except ValidationError as exc:
        db.session.rollback()
        errors = {("amount" if k == "amount_fen" else k): str(v) for k, v in exc.fields.items()}
        return _render(kind, slug, target, values, errors or {"form": str(exc.message)}, 422)
    db.session.commit()
    url = payments.checkout_url(donation)
    db.session.commit()
    return redirect(url, 303)


# --- paying a wish in full --------------------------------------------------------------------------


def _payable_wish(public_id: str):
    wish = get_public_wish(public_id)
    if not services.wish_payable(wish):
        abort(404)
    return wish


def _source() -> str:
    return "qr" if request.values.get("src") == "qr" else "web"


def _render_wish(wish, values=None, errors=None, status=200):
    page = render_template(
        "funds/donate_wish.html",
        wish=wish,
        source=_source(),
        channels=[(c.value, CHANNEL_LABELS[c]) for c in CHANNELS],
        values=values or {"channel": Channel.CARD.value},
        errors=errors or {},
        simulated=not payments.enabled(),
    )
    return page, status


@bp.get("/donate/wish/<public_id>")
def donate_wish(public_id: str):
    return _render_wish(_payable_wish(public_id))


@bp.post("/donate/wish/<public_id>")
def donate_wish_post(public_id: str):
    wish = get_public_wish(public_id)
    form = request.form
    values = {key: form.get(key, "").strip() for key in ("name", "contact", "display_name", "channel")}
    values["anonymous"] = bool(form.get("anonymous"))
    donor = services.DonorInput(
        name=values["name"],
        contact=values["contact"],
        display_name=values["display_name"] or None,
        anonymous=values["anonymous"],
    )
    account = current_user if current_user.is_authenticated else None
    try:
        donation = services.pay_for_wish(wish, donor, values["channel"], account, source=_source())
    except ValidationError as exc:
        db.session.rollback()
        errors = {("form" if k == "amount_fen" else k): str(v) for k, v in exc.fields.items()}
        return _render_wish(get_public_wish(public_id), values, errors or {"form": str(exc.message)}, 422)
    except Conflict as exc:
        db.session.rollback()
        return _render_wish(get_public_wish(public_id), values, {"form": str(exc.message)}, 409)
    db.session.commit()
    url = payments.checkout_url(donation)
    db.session.commit()
    return redirect(url, 303)


@bp.get("/donations/<public_id>")
def thanks(public_id: str):
    # State comes from the database alone: nothing in the return URL's query is read.
    donation = services.get_donation(public_id)
    return render_template(
        "funds/donate_thanks.html",
        donation=donation,
        wish=db.session.get(Wish, donation.wish_id) if donation.wish_id else None,
        pending=donation.status == DonationStatus.PENDING,
        failed=donation.status == DonationStatus.FAILED,
        receipts="funds_receipts.receipt" in current_app.view_functions,
        certificates="funds_receipts.certificate" in current_app.view_functions,
    )


# --- the offline payment simulator ----------------------------------------------------------------


def _simulated(donation_id: str):
    if payments.enabled():
        abort(404)
    return services.get_donation(donation_id)


@bp.get("/donate/simulator/<donation_id>")
def simulator(donation_id: str):
    return render_template("funds/donate_simulator.html", donation=_simulated(donation_id))


@bp.post("/donate/simulator/<donation_id>")
def simulator_post(donation_id: str):
    donation = _simulated(donation_id)
    if request.form.get("action") == "pay":
        event = simulated_event(donation, "checkout.session.completed", payment_status="paid")
    else:
        event = simulated_event(donation, "checkout.session.async_payment_failed", payment_status="unpaid")
    payments.handle_event(event)
    db.session.commit()
    return redirect(url_for("funds_donate.thanks", public_id=donation_id), 303)


def simulated_event(donation, event_type: str, *, payment_status: str) -> dict:
    """The event Stripe would send for this donation's Checkout Session."""
    from core.ids import public_id

    session_id = donation.checkout_session_id or f"cs_sim_{donation.public_id}"
    return {
        "id": f"evt_sim_{public_id(16)}",
        "object": "event",
        "type": event_type,
        "livemode": False,
        "data": {
            "object": {
                "id": session_id,
                "object": "checkout.session",
                "client_reference_id": donation.public_id,
                "metadata": {"donation_id": donation.public_id},
                "amount_total": donation.amount_fen,
                "currency": donation.currency.lower(),
                "payment_status": payment_status,
                "payment_intent": f"pi_sim_{donation.public_id}",
                "mode": "payment",
            }
        },
    }
