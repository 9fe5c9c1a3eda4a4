"""The donor's pages: choose an amount, pay (Stripe Checkout or the offline simulator), thank-you."""

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.errors import ValidationError
from core.extensions import limiter
from core.ids import public_id
from core.money import MoneyError, parse_yuan
from core.transactions import transaction
from funds import donations
from funds.models import CHANNEL_LABELS, ONLINE_CHANNELS, CampaignKind, Channel, DonationStatus
from payments import apply, gateway

bp = Blueprint("payments_donate", __name__)

KINDS = ("fund", "project", "campaign")
#: Offered when a campaign names no presets of its own, in fen.
DEFAULT_PRESETS = (2000, 5000, 10000, 20000)
CHANNELS = [c for c in Channel if c in ONLINE_CHANNELS]
#: Where the packages built on payments add to the thank-you page what the donation paid
#: for: callables, registered at start-up, taking the donation and returning (template name,
#: its values) or None.
THANKS_SECTIONS = "payments.thanks_sections"


def channel_choices() -> list[tuple[str, str]]:
    return [(c.value, CHANNEL_LABELS[c]) for c in CHANNELS]


def _target(kind: str, slug: str) -> donations.Target:
    if kind not in KINDS:
        abort(404)
    try:
        return donations.resolve_target(**{kind: slug})
    except ValidationError:
        abort(404)


def _title(target: donations.Target) -> str:
    if target.campaign:
        return target.campaign.title
    if target.project:
        return target.project.title
    return target.fund.name


def _render(kind, slug, target, values=None, errors=None, status=200):
    presets = (target.campaign.presets if target.campaign and target.campaign.presets else None) or DEFAULT_PRESETS
    page = render_template(
        "payments/donate.html",
        kind=kind,
        slug=slug,
        target=target,
        title=_title(target),
        presets=presets,
        couple=bool(target.campaign and target.campaign.kind == CampaignKind.COUPLE),
        channels=channel_choices(),
        values=values or {"channel": Channel.CARD.value, "preset": str(presets[0]), "amount": ""},
        errors=errors or {},
        simulated=gateway.simulating(),
        unavailable=not gateway.available(),
    )
    return page, status


@bp.get("/donate/<kind>/<slug>")
def donate(kind: str, slug: str):
    return _render(kind, slug, _target(kind, slug))


@bp.post("/donate/<kind>/<slug>")
@limiter.limit(lambda: current_app.config["DONATION_RATE_LIMIT"])
def donate_post(kind: str, slug: str):
    target = _target(kind, slug)
    gateway.require_available()
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
    donor = donations.DonorInput(
        name=values["name"],
        contact=values["contact"],
        display_name=values["display_name"] or None,
        anonymous=values["anonymous"],
        partner_name=values["partner_name"] or None,
    )
    account = current_user if current_user.is_authenticated else None
    try:
        with transaction():
            donation = donations.create_donation(target, amount_fen, donor, values["channel"], account)
    except ValidationError as exc:
        errors = {("amount" if k == "amount_fen" else k): str(v) for k, v in exc.fields.items()}
        return _render(kind, slug, target, values, errors or {"form": str(exc.message)}, 422)
    return redirect(gateway.start_checkout(donation), 303)


@bp.get("/donations/<public_id>")
def thanks(public_id: str):
    # State comes from the database alone: nothing in the return URL's query is read.
    donation = donations.get_donation(public_id)
    sections = [section(donation) for section in current_app.extensions[THANKS_SECTIONS]]
    return render_template(
        "payments/donate_thanks.html",
        donation=donation,
        sections=[s for s in sections if s],
        pending=donation.status == DonationStatus.PENDING,
        failed=donation.status == DonationStatus.FAILED,
        receipts="funds_receipts.receipt" in current_app.view_functions,
        certificates="funds_receipts.certificate" in current_app.view_functions,
    )


# --- the offline payment simulator ----------------------------------------------------------------


def _simulated(donation_id: str):
    if not gateway.simulating():
        abort(404)
    return donations.get_donation(donation_id)


@bp.get("/donate/simulator/<donation_id>")
def simulator(donation_id: str):
    return render_template("payments/donate_simulator.html", donation=_simulated(donation_id))


@bp.post("/donate/simulator/<donation_id>")
def simulator_post(donation_id: str):
    donation = _simulated(donation_id)
    if request.form.get("action") == "pay":
        event = simulated_event(donation, "checkout.session.completed", payment_status="paid")
    else:
        event = simulated_event(donation, "checkout.session.async_payment_failed", payment_status="unpaid")
    with transaction():
        # Whatever the simulator settles is marked: it proves no payment.
        donation.simulated = True
        apply.handle_event(event)
    return redirect(url_for("payments_donate.thanks", public_id=donation_id), 303)


def simulated_event(donation, event_type: str, *, payment_status: str) -> dict:
    """The event Stripe would send for this donation's Checkout Session."""
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
