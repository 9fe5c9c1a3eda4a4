"""Event pages: the projected board and its stream, the room page for phones, the host console."""

from datetime import datetime

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from core import qr
from core.auth import roles_required
from core.clock import utcnow, zone
from core.errors import Conflict, DomainError, ValidationError
from core.extensions import db, limiter
from core.forms import ActionForm
from core.ids import public_id as new_id
from core.models import Role
from core.transactions import run_action, submit_form, transaction
from core.urls import public_url
from events import broker, exports, screens, services
from events import stream as live_stream
from events.forms import AttendeeForm, EventForm, ImportForm, PaddleClaimForm, PledgeForm, RoomClaimForm
from events.models import EventStatus
from funds.models import Campaign, Fund
from wishes import queries as wish_queries

bp = Blueprint("events", __name__)


# --- the stream -----------------------------------------------------------------------------------


def _last_event_id() -> int:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or "0"
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationError(fields={"last_event_id": _("Give the id of the last message received.")})
    return int(raw)


@bp.get("/events/<slug>/stream")
def stream(slug: str):
    """The event's messages after Last-Event-ID, then live ones; no database session is held while it waits."""
    event = services.get_event(slug)
    return _stream((event.id, event.created_at.timestamp()), TAIL, services.messages_after, event.id)


def _stream(key: tuple, tail_name: str, reader, topic):
    last_id = _last_event_id()
    app = current_app._get_current_object()
    config = app.config
    tail = app.extensions.get(tail_name)
    if tail is None:
        tail = app.extensions.setdefault(
            tail_name, live_stream.Tail(db.engine, config["EVENT_STREAM_POLL_SECONDS"], reader)
        )
    db.session.remove()
    body = live_stream.generate(
        broker.get(app),
        tail,
        key,
        last_id,
        config["EVENT_STREAM_SECONDS"],
        config["EVENT_STREAM_POLL_SECONDS"],
        config["EVENT_STREAM_HEARTBEAT_SECONDS"],
        topic,
    )
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    # A reverse proxy must pass each message on at once, not buffer the stream.
    response.headers["X-Accel-Buffering"] = "no"
    return response


#: The keys under app.extensions of the process's stream tails (events.stream.Tail): boards', screens'.
TAIL = "event_stream_tail"
SCREEN_TAIL = "campaign_screen_tail"


# --- the projected board --------------------------------------------------------------------------


def _room_url(slug: str) -> str:
    return public_url("events.room", slug=slug)


@bp.get("/events/<slug>/board")
def board(slug: str):
    event = services.get_event(slug)
    snapshot = services.board(event)
    return render_template(
        "events/board.html",
        event=event,
        board=snapshot,
        tiles=services.tiles(event),
        room_url=_room_url(event.slug),
        ticker=_ticker(event),
    )


def _ticker(event) -> list[dict]:
    """The latest claims, newest first, for the board's ticker before the stream adds more."""
    rows = [t for t in services.tiles(event) if t.public_name]
    return [{"name": t.public_name, "title": t.wish.title, "paddle": t.paddle} for t in rows[-8:]][::-1]


@bp.get("/events/<slug>/qr.<any(svg, png):fmt>")
def event_qr(slug: str, fmt: str):
    event = services.get_event(slug)
    return qr.response(_room_url(event.slug), fmt)


# --- a campaign's projector screen ---------------------------------------------------------------


@bp.get("/campaigns/<slug>/screen")
def campaign_screen(slug: str):
    """A campaign's total (and a couples' campaign's newest names) on a projector, live through the stream."""
    campaign = screens.get_campaign(slug)
    served = current_app.view_functions
    # The last id before the figures: a gift committed in between is replayed (its figures are totals,
    # not increments), never lost.
    last_event_id = screens.last_message_id(campaign)
    return render_template(
        "events/screen.html",
        campaign=campaign,
        couples=screens.is_couples(campaign),
        figures=screens.figures(campaign),
        last_event_id=last_event_id,
        qr_url=url_for("funds.campaign_qr", slug=slug, fmt="svg") if "funds.campaign_qr" in served else None,
        names_shown=screens.NAMES,
    )


@bp.get("/campaigns/<slug>/screen/stream")
def campaign_screen_stream(slug: str):
    """The campaign's gifts after Last-Event-ID, then live ones, as an event's stream serves its board."""
    campaign = screens.get_campaign(slug)
    key = (campaign.id, campaign.created_at.timestamp())
    return _stream(key, SCREEN_TAIL, screens.campaign_messages_after, broker.campaign_topic(campaign.id))


# --- the room page (phones) -----------------------------------------------------------------------

#: Name and phone remembered on the phone for the evening, signed so nobody else's can be planted.
GUEST_COOKIE = "event_guest"
DEVICE_COOKIE = "event_device"
EVENING_SECONDS = 12 * 3600


def _guest_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="event-room-guest")


def _remembered_guest() -> dict:
    raw = request.cookies.get(GUEST_COOKIE)
    if not raw:
        return {}
    try:
        value = _guest_serializer().loads(raw, max_age=EVENING_SECONDS)
    except BadSignature:
        return {}
    return value if isinstance(value, dict) else {}


def _device() -> str:
    value = request.cookies.get(DEVICE_COOKIE, "")
    return value if value.isalnum() and 8 <= len(value) <= 40 else ""


def _room_limit_key() -> str:
    """The room's claim limit counts per phone and event, not per address: a hall shares one Wi-Fi address."""
    return f"room:{request.view_args.get('slug', '')}:{_device() or request.remote_addr}"


def _remember(response, guest: dict | None = None, device: str | None = None):
    secure = current_app.config["PUBLIC_BASE_URL"].startswith("https://")
    if guest is not None:
        response.set_cookie(
            GUEST_COOKIE,
            _guest_serializer().dumps(guest),
            max_age=EVENING_SECONDS,
            httponly=True,
            samesite="Lax",
            secure=secure,
        )
    if device:
        response.set_cookie(
            DEVICE_COOKIE, device, max_age=EVENING_SECONDS, httponly=True, samesite="Lax", secure=secure
        )
    return response


@bp.get("/events/<slug>/room")
def room(slug: str):
    event = services.get_event(slug)
    guest = _remembered_guest()
    form = RoomClaimForm(data={"name": guest.get("name", ""), "contact": guest.get("contact", "")})
    open_tiles = [t for t in services.tiles(event) if t.wish.status == "published"]
    response = Response(
        render_template("events/room.html", event=event, tiles=open_tiles, form=form, key=new_id(16), guest=guest)
    )
    return _remember(response, device=None if _device() else new_id(20))


@bp.post("/events/<slug>/room/<public_id>")
@limiter.limit(lambda: current_app.config["EVENT_ROOM_RATE_LIMIT"], key_func=_room_limit_key)
def room_claim(slug: str, public_id: str):
    event = services.get_event(slug)
    form = RoomClaimForm()
    device = _device()
    if not form.validate_on_submit():
        flash(_("Give your name and mobile number."), "error")
        return redirect(url_for("events.room", slug=slug))
    if not device:
        flash(_("Your browser must accept cookies to claim here. Reload the page and try again."), "error")
        return redirect(url_for("events.room", slug=slug))
    try:
        with transaction():
            record = services.room_claim(event, public_id, form.name.data, form.contact.data, device, form.key.data)
            title = record.claim.wish.title
    except ValidationError as exc:
        flash("; ".join(str(v) for v in exc.fields.values()) or exc.message, "error")
        return redirect(url_for("events.room", slug=slug))
    except (Conflict, DomainError) as exc:
        flash(exc.message, "error")
        return redirect(url_for("events.room", slug=slug))
    flash(_("Thank you! You claimed “%(title)s”. The board shows it now.", title=title), "success")
    response = redirect(url_for("events.room", slug=slug))
    return _remember(response, guest={"name": form.name.data.strip(), "contact": form.contact.data.strip()})


# --- the host's pages ------------------------------------------------------------------------------

HOST = roles_required(Role.HOST)


def _fund_choices():
    funds = db.session.scalars(select(Fund).where(Fund.active.is_(True)).order_by(Fund.name))
    return [("", _("No fund"))] + [(f.slug, f.name) for f in funds]


def _campaign_choices():
    campaigns = db.session.scalars(select(Campaign).where(Campaign.active.is_(True)).order_by(Campaign.title))
    return [("", _("None"))] + [(c.slug, c.title) for c in campaigns]


def _event_input(form: EventForm) -> services.EventInput:
    starts = form.starts_at.data
    if isinstance(starts, datetime) and starts.tzinfo is None:
        starts = starts.replace(tzinfo=zone())
    return services.EventInput(
        slug=form.slug.data,
        title=form.title.data,
        starts_at=starts,
        venue=form.venue.data,
        fund=form.fund.data or None,
        campaign=form.campaign.data or None,
    )


@bp.get("/host/events")
@HOST
def host_events():
    """The host's desk: every event, and the campaigns whose walls and posters a host puts up."""
    campaigns = db.session.scalars(select(Campaign).where(Campaign.active.is_(True)).order_by(Campaign.title))
    return render_template("events/host_events.html", events=services.events_for_host(), campaigns=list(campaigns))


@bp.route("/host/events/new", methods=["GET", "POST"])
@HOST
def new_event():
    form = EventForm()
    form.fund.choices = _fund_choices()
    form.campaign.choices = _campaign_choices()
    if form.validate_on_submit():
        ok, event = submit_form(form, lambda: services.create_event(current_user, _event_input(form)))
        if ok:
            return redirect(url_for("events.host", slug=event.slug))
    return render_template("events/host_event_form.html", form=form, event=None)


@bp.route("/events/<slug>/host/edit", methods=["GET", "POST"])
@HOST
def edit_event(slug: str):
    event = services.get_event(slug)
    form = EventForm(obj=None if request.method == "POST" else event)
    form.fund.choices = _fund_choices()
    form.campaign.choices = _campaign_choices()
    if request.method == "GET":
        form.starts_at.data = event.starts_at.astimezone(zone()).replace(tzinfo=None)
        form.fund.data = event.fund.slug if event.fund else ""
        form.campaign.data = event.campaign.slug if event.campaign else ""
    if form.validate_on_submit():
        ok, updated = submit_form(form, lambda: services.update_event(current_user, event, _event_input(form)))
        if ok:
            return redirect(url_for("events.host", slug=updated.slug))
    return render_template("events/host_event_form.html", form=form, event=event)


@bp.get("/events/<slug>/host")
@HOST
def host(slug: str):
    event = services.get_event(slug)
    return render_template(
        "events/host.html",
        event=event,
        tiles=services.tiles(event),
        claims=services.recent_claims(event),
        board=services.board(event),
        claim_form=PaddleClaimForm(),
        pledge_form=PledgeForm(),
        action=ActionForm(),
        key=new_id(16),
        undo_window=services.undo_window(),
        now=utcnow(),
    )


def _back(slug: str):
    return redirect(url_for("events.host", slug=slug))


@bp.post("/events/<slug>/host/claim")
@HOST
def host_claim(slug: str):
    event = services.get_event(slug)
    form = PaddleClaimForm()
    if not form.validate_on_submit():
        flash(_("Give the paddle number."), "error")
        return _back(slug)
    paddles = [p for p in form.paddles.data.replace(",", " ").replace("，", " ").split() if p]
    try:
        with transaction():
            record = services.claim_for_paddle(current_user, event, form.wish.data, paddles, form.key.data)
            done = _("Paddle %(p)d claimed “%(title)s”.", p=record.attendee.paddle, title=record.claim.wish.title)
    except DomainError as exc:
        flash("; ".join(str(v) for v in exc.fields.values()) or exc.message, "error")
        return _back(slug)
    flash(done, "success")
    return _back(slug)


@bp.post("/events/<slug>/host/undo/<int:claim_id>")
@HOST
def host_undo(slug: str, claim_id: int):
    event = services.get_event(slug)
    if ActionForm().validate_on_submit():
        run_action(lambda: services.undo_claim(current_user, event, claim_id), _("The claim was undone."))
    return _back(slug)


@bp.post("/events/<slug>/host/<any(open, close, pause, resume):step>")
@HOST
def host_step(slug: str, step: str):
    event = services.get_event(slug)
    actions = {
        "open": (lambda: services.open_event(current_user, event), _("The event is live.")),
        "close": (lambda: services.close_event(current_user, event), _("The event is closed. Thank you!")),
        "pause": (lambda: services.set_paused(current_user, event, True), _("The board is paused.")),
        "resume": (lambda: services.set_paused(current_user, event, False), _("The board is back.")),
    }
    if ActionForm().validate_on_submit():
        run_action(*actions[step])
    return _back(slug)


@bp.post("/events/<slug>/host/spotlight")
@HOST
def host_spotlight(slug: str):
    event = services.get_event(slug)
    if ActionForm().validate_on_submit():
        wish = request.form.get("wish") or None
        run_action(lambda: services.spotlight(current_user, event, wish), _("The board shows it."))
    return _back(slug)


@bp.post("/events/<slug>/host/pledge")
@HOST
def host_pledge(slug: str):
    event = services.get_event(slug)
    form = PledgeForm()
    if form.validate_on_submit() and form.amount.fen is not None:
        run_action(
            lambda: services.record_pledge(current_user, event, form.amount.fen, form.paddle.data or None),
            _("The pledge is on the board."),
        )
    else:
        flash(_("Give an amount in yuan, like 120 or 89.50."), "error")
    return _back(slug)


@bp.route("/events/<slug>/host/wishes", methods=["GET", "POST"])
@HOST
def host_wishes(slug: str):
    event = services.get_event(slug)
    action = ActionForm()
    if request.method == "POST" and action.validate_on_submit():
        chosen = request.form.getlist("wish")
        if run_action(lambda: services.feature_wishes(current_user, event, chosen), _("The wishes are on the board.")):
            return redirect(url_for("events.host_wishes", slug=slug))
    featured = {row.wish_id for row in event.featured}
    filters = wish_queries.WishFilter(
        district=(request.args.get("district") or None),
        category=(request.args.get("category") or None),
        status="published",
    )
    try:
        page = wish_queries.public_wishes(filters, 1, 100)
        candidates = [w for w in page.items if w.id not in featured]
    except DomainError:
        candidates = []
    return render_template(
        "events/host_wishes.html", event=event, candidates=candidates, action=action, filters=request.args
    )


@bp.post("/events/<slug>/host/wishes/<public_id>/remove")
@HOST
def host_unfeature(slug: str, public_id: str):
    event = services.get_event(slug)
    if ActionForm().validate_on_submit():
        run_action(lambda: services.unfeature_wish(current_user, event, public_id), _("The wish left the board."))
    return redirect(url_for("events.host_wishes", slug=slug))


@bp.route("/events/<slug>/host/attendees", methods=["GET", "POST"])
@HOST
def host_attendees(slug: str):
    event = services.get_event(slug)
    form = AttendeeForm()
    if form.validate_on_submit():
        ok, _attendee = submit_form(
            form,
            lambda: services.add_attendee(
                current_user,
                event,
                services.AttendeeInput(
                    paddle=form.paddle.data,
                    name=form.name.data,
                    phone=form.phone.data,
                    organisation=form.organisation.data,
                ),
            ),
        )
        if ok:
            flash(_("The attendee is registered."), "success")
            return redirect(url_for("events.host_attendees", slug=slug))
    return render_template(
        "events/host_attendees.html", event=event, form=form, import_form=ImportForm(), import_errors=None
    )


@bp.post("/events/<slug>/host/attendees/import")
@HOST
def host_import(slug: str):
    event = services.get_event(slug)
    form = ImportForm()
    errors = None
    if form.validate_on_submit() and form.file.data:
        try:
            rows = exports.read_attendee_sheet(form.file.data.filename or "", form.file.data.read())
            with transaction():
                added = services.import_attendees(current_user, event, rows)
            flash(_("%(n)d attendees imported.", n=len(added)), "success")
            return redirect(url_for("events.host_attendees", slug=slug))
        except ValidationError as exc:
            errors = exc
    else:
        flash(_("Choose a CSV or XLSX file."), "error")
    return render_template(
        "events/host_attendees.html",
        event=event,
        form=AttendeeForm(formdata=None),
        import_form=form,
        import_errors=errors,
    ), (422 if errors else 200)


@bp.get("/events/<slug>/host/paddles")
@HOST
def host_paddles(slug: str):
    event = services.get_event(slug)
    return render_template("events/host_paddles.html", event=event)


@bp.get("/events/<slug>/host/results.xlsx")
@HOST
def host_results(slug: str):
    event = services.get_event(slug)
    body = exports.results_xlsx(event)
    return Response(
        body,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{event.slug}-results.xlsx"'},
    )


@bp.app_context_processor
def _event_helpers():
    return {"EventStatus": EventStatus}
