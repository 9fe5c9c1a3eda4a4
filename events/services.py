"""The rules of events: creating and running them, paddle claims, backups, undo, the room's claims, the board.

Every function takes an actor where one acts, checks before it writes, leaves an audit
row and flushes; the caller commits. Board messages are appended with `append`, which
locks the event's row first: appends to one event are serialised, so message ids
increase in the order their transactions commit (a stream that has sent id 11 can never
later find an id 10). The event row is always the last lock a transaction takes, after
any wish or claim row, so two claims never wait on each other in a circle.
"""

import contextvars
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select

from core import audit, transitions
from core.audit import Actor
from core.auth import client_key
from core.clock import utcnow
from core.contacts import PHONE_RE
from core.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationError
from core.extensions import db
from core.models import Role, User
from events.models import (
    EVENT_TRANSITIONS,
    Attendee,
    Event,
    EventBackup,
    EventClaim,
    EventMessage,
    EventStatus,
    EventWish,
    MessageKind,
)
from funds.models import Campaign, Fund
from wishes import services as wish_services
from wishes.models import PUBLIC_WISH_STATUSES, Claim, ClaimSource, ClaimStatus, Wish, WishStatus

WAKE_KEY = "events_to_wake"
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
#: Statuses of a featured wish that count as taken on the board.
TAKEN = (WishStatus.CLAIMED, WishStatus.FULFILLED, WishStatus.CLOSED)

#: Who is claiming at an event, for the message the claim's signal appends (set by the services below).
_claim_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("event_claim_context", default=None)


# --- the message log ----------------------------------------------------------------------------


def append(event_id: int, kind: MessageKind, data: dict, amount_fen: int = 0) -> EventMessage:
    """Append one message to an event's log, after taking the event's row lock (see the module's note)."""
    db.session.execute(select(Event.id).where(Event.id == event_id).with_for_update())
    message = EventMessage(event_id=event_id, kind=kind.value, data=data, amount_fen=amount_fen)
    db.session.add(message)
    db.session.flush()
    db.session.info.setdefault(WAKE_KEY, set()).add(event_id)
    return message


#: Built once: every claim and release asks it, and most find no live event.
_LIVE_EVENTS_FEATURING = (
    select(EventWish.event_id)
    .join(Event, Event.id == EventWish.event_id)
    .where(EventWish.wish_id == bindparam("wish_id"), Event.status == EventStatus.LIVE)
    .order_by(EventWish.event_id)
)


def _live_events_featuring(wish_id: int) -> list[int]:
    # The question reads only events' own tables: the claim's pending audit rows need not be
    # flushed for it, and go at commit in one INSERT with the rest.
    with db.session.no_autoflush:
        return list(db.session.scalars(_LIVE_EVENTS_FEATURING, {"wish_id": wish_id}))


def on_claim_made(claim: Claim) -> None:
    context = _claim_context.get() or {}
    for event_id in _live_events_featuring(claim.wish_id):
        data = {"wish": claim.wish.public_id, "public_name": claim.public_name, "paddle": None}
        if context.get("event_id") == event_id:
            data["paddle"] = context.get("paddle")
        append(event_id, MessageKind.CLAIM, data)


def on_claim_released(claim: Claim) -> None:
    context = _claim_context.get() or {}
    for event_id in _live_events_featuring(claim.wish_id):
        reason = "undo" if context.get("undo") and context.get("event_id") == event_id else claim.status
        data = {"wish": claim.wish.public_id, "reason": reason, "offered_to": None}
        backup = _first_backup(event_id, claim.wish_id)
        if backup is not None:
            backup.offered_at = utcnow()
            data["offered_to"] = backup.attendee.paddle
        append(event_id, MessageKind.RELEASE, data)


def on_donation_paid(donation, **_kwargs) -> None:
    """An online donation to a live event's campaign (its "give" link) adds to the board's total."""
    if donation.campaign_id is None:
        return None
    event_ids = db.session.scalars(
        select(Event.id)
        .where(Event.campaign_id == donation.campaign_id, Event.status == EventStatus.LIVE)
        .order_by(Event.id)
    )
    for event_id in list(event_ids):
        append(
            event_id,
            MessageKind.DONATION,
            {"amount_fen": donation.amount_fen, "paddle": None},
            amount_fen=donation.amount_fen,
        )
    # Nothing for a fund administrator to review.
    return None


def on_wish_fulfilled(claim: Claim) -> None:
    for event_id in _live_events_featuring(claim.wish_id):
        append(event_id, MessageKind.FULFIL, {"wish": claim.wish.public_id, "public_name": claim.public_name})


def _first_backup(event_id: int, wish_id: int) -> EventBackup | None:
    return db.session.scalar(
        select(EventBackup)
        .where(EventBackup.event_id == event_id, EventBackup.wish_id == wish_id, EventBackup.offered_at.is_(None))
        .order_by(EventBackup.position, EventBackup.id)
        .limit(1)
    )


def messages_after(connection, event_id: int, last_id: int, limit: int = 500) -> list:
    """The event's messages after `last_id`, oldest first, read on a plain connection (no ORM session)."""
    table = EventMessage.__table__
    return list(
        connection.execute(
            select(table.c.id, table.c.kind, table.c.data)
            .where(table.c.event_id == event_id, table.c.id > last_id)
            .order_by(table.c.id)
            .limit(limit)
        )
    )


# --- looking events up ----------------------------------------------------------------------------


def get_event(slug: str) -> Event:
    event = db.session.scalar(select(Event).where(Event.slug == slug)) if isinstance(slug, str) else None
    if event is None:
        raise NotFound(_("No such event."))
    return event


def public_events() -> list[Event]:
    """Live events and drafts still to come, soonest first."""
    return list(
        db.session.scalars(
            select(Event)
            .where(
                (Event.status == EventStatus.LIVE)
                | ((Event.status == EventStatus.DRAFT) & (Event.starts_at >= utcnow() - timedelta(hours=12)))
            )
            .order_by(Event.starts_at, Event.id)
        )
    )


def events_for_host() -> list[Event]:
    return list(db.session.scalars(select(Event).order_by(Event.starts_at.desc(), Event.id.desc())))


def featured_wishes(event: Event, *, public_only: bool = True) -> list[Wish]:
    wishes = [row.wish for row in event.featured]
    return [w for w in wishes if w.status in PUBLIC_WISH_STATUSES] if public_only else wishes


def last_message_id(event: Event) -> int:
    return db.session.scalar(select(func.max(EventMessage.id)).where(EventMessage.event_id == event.id)) or 0


def raised_fen(event: Event) -> int:
    return db.session.scalar(select(func.sum(EventMessage.amount_fen)).where(EventMessage.event_id == event.id)) or 0


@dataclass
class Tile:
    wish: Wish
    public_name: str | None
    paddle: int | None
    offered_to: int | None


def tiles(event: Event) -> list[Tile]:
    """The board's tiles: each public featured wish, who holds it (public name, paddle) and any offer to a backup."""
    wishes = featured_wishes(event)
    ids = [w.id for w in wishes]
    holders: dict[int, tuple[str, int | None]] = {}
    if ids:
        rows = db.session.execute(
            select(Claim, Attendee.paddle)
            .outerjoin(EventClaim, EventClaim.claim_id == Claim.id)
            .outerjoin(Attendee, Attendee.id == EventClaim.attendee_id)
            .where(Claim.wish_id.in_(ids), Claim.status.in_((ClaimStatus.ACTIVE, ClaimStatus.FULFILLED)))
        ).all()
        holders = {claim.wish_id: (claim.public_name, paddle) for claim, paddle in rows}
        offers = dict(
            db.session.execute(
                select(EventBackup.wish_id, Attendee.paddle)
                .join(Attendee, Attendee.id == EventBackup.attendee_id)
                .where(EventBackup.event_id == event.id, EventBackup.offered_at.is_not(None))
                .order_by(EventBackup.offered_at)
            ).all()
        )
    else:
        offers = {}
    result = []
    for wish in wishes:
        name, paddle = holders.get(wish.id, (None, None))
        taken = wish.status in TAKEN
        result.append(
            Tile(
                wish,
                name if taken else None,
                paddle if taken else None,
                offers.get(wish.id) if not taken else None,
            )
        )
    return result


def board(event: Event) -> dict:
    """The board's snapshot (DESIGN.md §5)."""
    # The last id is read first: a message appended meanwhile is then sent again by the stream, never missed.
    last_id = last_message_id(event)
    shown = tiles(event)
    return {
        "event": {"slug": event.slug, "title": event.title, "status": event.status},
        "wishes": [
            {
                "id": tile.wish.public_id,
                "title": tile.wish.title,
                "status": tile.wish.status,
                "child": tile.wish.child.public_view(),
                "public_name": tile.public_name,
            }
            for tile in shown
        ],
        "claimed": sum(1 for tile in shown if tile.wish.status in TAKEN),
        "total": len(shown),
        "raised_fen": raised_fen(event),
        "last_event_id": str(last_id),
    }


# --- creating and running an event ---------------------------------------------------------------


def check_host(actor: User) -> None:
    if not actor.has_role(Role.HOST):
        raise Forbidden(_("Only an event host may do this."))


@dataclass
class EventInput:
    slug: str
    title: str
    starts_at: datetime | None
    venue: str
    fund: str | None = None
    campaign: str | None = None


def _clean_event(data: EventInput, event: Event | None) -> dict:
    fields: dict = {}
    slug = (data.slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        fields["slug"] = _("Use 1 to 60 lower-case letters, digits and hyphens.")
    elif db.session.scalar(select(Event.id).where(Event.slug == slug, Event.id != (event.id if event else -1))):
        fields["slug"] = _("Another event already uses this address.")
    title = (data.title or "").strip()
    if not 2 <= len(title) <= 100:
        fields["title"] = _("Give a title of 2 to 100 characters.")
    venue = (data.venue or "").strip()
    if not 2 <= len(venue) <= 120:
        fields["venue"] = _("Give a venue of 2 to 120 characters.")
    if not isinstance(data.starts_at, datetime):
        fields["starts_at"] = _("Give the date and time the event starts.")
    fund_id = None
    if data.fund:
        fund_id = db.session.scalar(select(Fund.id).where(Fund.slug == data.fund, Fund.active.is_(True)))
        if fund_id is None:
            fields["fund"] = _("No such fund.")
    campaign_id = None
    if data.campaign:
        campaign_id = db.session.scalar(
            select(Campaign.id).where(Campaign.slug == data.campaign, Campaign.active.is_(True))
        )
        if campaign_id is None:
            fields["campaign"] = _("No such campaign.")
    if fields:
        raise ValidationError(fields=fields)
    return {
        "slug": slug,
        "title": title,
        "venue": venue,
        "starts_at": data.starts_at,
        "fund_id": fund_id,
        "campaign_id": campaign_id,
    }


def create_event(actor: User, data: EventInput) -> Event:
    check_host(actor)
    event = Event(host_id=actor.id, status=EventStatus.DRAFT, **_clean_event(data, None))
    db.session.add(event)
    db.session.flush()
    audit.record("event.created", event, actor, after={"slug": event.slug, "title": event.title})
    return event


def update_event(actor: User, event: Event, data: EventInput) -> Event:
    check_host(actor)
    if event.status == EventStatus.CLOSED:
        raise InvalidTransition(_("This event is closed."))
    clean = _clean_event(data, event)
    changed = sorted(k for k, v in clean.items() if getattr(event, k) != v)
    for key in changed:
        setattr(event, key, clean[key])
    db.session.flush()
    audit.record("event.edited", event, actor, after={"changed": changed})
    return event


def _check_not_closed(event: Event) -> None:
    if event.status == EventStatus.CLOSED:
        raise InvalidTransition(_("This event is closed."))


def feature_wishes(actor: User, event: Event, public_ids: list[str]) -> list[Wish]:
    """Add published wishes to the event's board, after the ones it has."""
    check_host(actor)
    _check_not_closed(event)
    ids = [p for p in dict.fromkeys(public_ids or []) if isinstance(p, str)]
    if not ids:
        raise ValidationError(fields={"wishes": _("Choose at least one wish.")})
    found = {w.public_id: w for w in db.session.scalars(select(Wish).where(Wish.public_id.in_(ids)))}
    bad = [p for p in ids if p not in found or found[p].status != WishStatus.PUBLISHED]
    if bad:
        raise ValidationError(fields={"wishes": _("Only open wishes can be featured.")})
    present = {row.wish_id for row in event.featured}
    position = max((row.position for row in event.featured), default=0)
    added = []
    for public_id in ids:
        wish = found[public_id]
        if wish.id in present:
            continue
        position += 1
        event.featured.append(EventWish(wish_id=wish.id, position=position))
        added.append(wish)
    db.session.flush()
    audit.record("event.wishes_featured", event, actor, after={"wishes": [w.public_id for w in added]})
    return added


def unfeature_wish(actor: User, event: Event, public_id: str) -> None:
    check_host(actor)
    _check_not_closed(event)
    row = next((r for r in event.featured if r.wish.public_id == public_id), None)
    if row is None:
        raise NotFound(_("This wish is not on the event's board."))
    event.featured.remove(row)
    db.session.flush()
    audit.record("event.wish_unfeatured", event, actor, after={"wish": public_id})


def _move_event(event: Event, to: EventStatus, actor: Actor, action: str) -> Event:
    refused = InvalidTransition(_("The event cannot move from %(a)s to %(b)s.", a=event.status, b=to.value))
    return transitions.move(event, to, EVENT_TRANSITIONS, actor, action, refused=refused)


def open_event(actor: User, event: Event) -> Event:
    check_host(actor)
    if not event.featured:
        raise ValidationError(_("Feature at least one wish before the event goes live."))
    return _move_event(event, EventStatus.LIVE, actor, "event.opened")


def close_event(actor: User, event: Event) -> Event:
    check_host(actor)
    _move_event(event, EventStatus.CLOSED, actor, "event.closed")
    append(event.id, MessageKind.CLOSE, {})
    return event


def _check_live(event: Event) -> None:
    if event.status != EventStatus.LIVE:
        raise InvalidTransition(_("The event is not live."))


def set_paused(actor: User, event: Event, paused: bool) -> Event:
    check_host(actor)
    _check_live(event)
    if event.paused == paused:
        return event
    event.paused = paused
    db.session.flush()
    audit.record("event.paused" if paused else "event.resumed", event, actor)
    append(event.id, MessageKind.PAUSE if paused else MessageKind.RESUME, {})
    return event


def spotlight(actor: User, event: Event, public_id: str | None) -> Event:
    """Show one featured wish large on the board; none (empty) to go back to the tiles."""
    check_host(actor)
    _check_live(event)
    wish = None
    if public_id:
        wish = _featured_wish(event, public_id)
    audit.record("event.spotlight", event, actor, after={"wish": wish.public_id if wish else None})
    append(event.id, MessageKind.SPOTLIGHT, {"wish": wish.public_id if wish else None})
    return event


def _featured_wish(event: Event, public_id: str) -> Wish:
    row = next((r for r in event.featured if r.wish.public_id == public_id), None)
    if row is None or row.wish.status not in PUBLIC_WISH_STATUSES:
        raise NotFound(_("This wish is not on the event's board."))
    return row.wish


# --- attendees -----------------------------------------------------------------------------------


@dataclass
class AttendeeInput:
    paddle: object
    name: str
    phone: str
    organisation: str | None = None


def _clean_attendee(data: AttendeeInput, taken: set[int]) -> dict:
    fields: dict = {}
    paddle = data.paddle
    if isinstance(paddle, str) and paddle.strip().isdigit():
        paddle = int(paddle.strip())
    if isinstance(paddle, float) and paddle.is_integer():
        paddle = int(paddle)
    if not isinstance(paddle, int) or isinstance(paddle, bool) or not 1 <= paddle <= 9999:
        fields["paddle"] = _("A paddle number is a whole number from 1 to 9999.")
    elif paddle in taken:
        fields["paddle"] = _("Paddle %(n)d is already given out.", n=paddle)
    name = str(data.name or "").strip()
    if not 1 <= len(name) <= 60:
        fields["name"] = _("Give a name of at most 60 characters.")
    phone = str(data.phone or "").strip()
    if not PHONE_RE.match(phone):
        fields["phone"] = _("Give a valid phone number.")
    organisation = str(data.organisation or "").strip() or None
    if organisation and len(organisation) > 100:
        fields["organisation"] = _("The organisation may be at most 100 characters.")
    if fields:
        raise ValidationError(fields=fields)
    return {"paddle": paddle, "name": name, "phone": phone, "organisation": organisation}


def add_attendee(actor: User, event: Event, data: AttendeeInput) -> Attendee:
    check_host(actor)
    _check_not_closed(event)
    attendee = Attendee(event_id=event.id, **_clean_attendee(data, {a.paddle for a in event.attendees}))
    db.session.add(attendee)
    db.session.flush()
    # The paddle only: the attendee's name and phone stay in their own row.
    audit.record("event.attendee_added", event, actor, after={"paddle": attendee.paddle})
    return attendee


def import_attendees(actor: User, event: Event, rows: list[AttendeeInput]) -> list[Attendee]:
    """All rows or none: every bad row is reported by its number (the sheet's first data row is 2)."""
    check_host(actor)
    _check_not_closed(event)
    taken = {a.paddle for a in event.attendees}
    clean_rows, errors = [], {}
    for number, row in enumerate(rows, start=2):
        try:
            clean = _clean_attendee(row, taken)
        except ValidationError as exc:
            errors[_("row %(n)d", n=number)] = "; ".join(str(v) for v in exc.fields.values())
            continue
        taken.add(clean["paddle"])
        clean_rows.append(clean)
    if not rows:
        raise ValidationError(fields={"file": _("The sheet has no attendees.")})
    if errors:
        raise ValidationError(_("Nothing was imported: fix these rows and import the sheet again."), fields=errors)
    attendees = [Attendee(event_id=event.id, **clean) for clean in clean_rows]
    db.session.add_all(attendees)
    db.session.flush()
    audit.record("event.attendees_imported", event, actor, after={"paddles": [a.paddle for a in attendees]})
    return attendees


def attendee_by_paddle(event: Event, paddle) -> Attendee:
    try:
        number = int(str(paddle).strip())
    except ValueError:
        number = -1
    attendee = db.session.scalar(select(Attendee).where(Attendee.event_id == event.id, Attendee.paddle == number))
    if attendee is None:
        raise ValidationError(fields={"paddle": _("No attendee has paddle %(p)s.", p=str(paddle)[:10])})
    return attendee


# --- claims at the event -------------------------------------------------------------------------


def _existing(event: Event, key: str | None) -> EventClaim | None:
    if not key:
        return None
    return db.session.scalar(
        select(EventClaim).where(EventClaim.event_id == event.id, EventClaim.idempotency_key == key)
    )


def _check_key(key: str | None) -> str | None:
    key = (key or "").strip() or None
    if key and (len(key) > 64 or not re.match(r"^[A-Za-z0-9_-]+$", key)):
        raise ValidationError(fields={"key": _("The form is damaged; reload the page.")})
    return key


def claim_for_paddle(actor: User, event: Event, public_id: str, paddles: list, key: str | None = None) -> EventClaim:
    """The host records a raised paddle's claim; any further paddles become backups, in the order given."""
    check_host(actor)
    key = _check_key(key)
    earlier = _existing(event, key)
    if earlier is not None:
        return earlier
    _check_live(event)
    wish = _featured_wish(event, public_id)
    if not paddles:
        raise ValidationError(fields={"paddle": _("Give the paddle number.")})
    attendees = [attendee_by_paddle(event, p) for p in paddles]
    if len({a.id for a in attendees}) != len(attendees):
        raise ValidationError(fields={"paddle": _("A paddle is named twice.")})
    first, backups = attendees[0], attendees[1:]
    if wish.status != WishStatus.PUBLISHED:
        raise Conflict(_("Someone has already claimed this wish."))
    token = _claim_context.set({"event_id": event.id, "paddle": first.paddle})
    try:
        claim, _token = wish_services.claim_wish(
            wish,
            wish_services.ClaimInput(
                name=first.name,
                contact=first.phone,
                display_name=first.public_name[:30],
                source=ClaimSource.EVENT_PADDLE,
                # The host records it for a paddle in the room: a company may take many wishes.
                capped=False,
            ),
        )
    finally:
        _claim_context.reset(token)
    record = EventClaim(event_id=event.id, claim_id=claim.id, attendee_id=first.id, idempotency_key=key)
    db.session.add(record)
    # Backups of an earlier, released claim of this wish make way for the new round.
    start = db.session.scalar(
        select(func.max(EventBackup.position)).where(EventBackup.event_id == event.id, EventBackup.wish_id == wish.id)
    )
    for offset, attendee in enumerate(backups, start=(start or 0) + 1):
        db.session.add(EventBackup(event_id=event.id, wish_id=wish.id, attendee_id=attendee.id, position=offset))
    db.session.flush()
    audit.record(
        "event.paddle_claim",
        event,
        actor,
        after={"wish": wish.public_id, "paddle": first.paddle, "backups": [a.paddle for a in backups]},
    )
    return record


def undo_window() -> timedelta:
    return timedelta(minutes=current_app.config["EVENT_UNDO_MINUTES"])


def undo_claim(actor: User, event: Event, event_claim_id) -> EventClaim:
    """A mistaken claim taken back within the undo window: the claim is cancelled, and the log says so."""
    check_host(actor)
    _check_live(event)
    record = db.session.scalar(
        select(EventClaim).where(EventClaim.id == _int_or_none(event_claim_id), EventClaim.event_id == event.id)
    )
    if record is None:
        raise NotFound(_("No such claim at this event."))
    if record.undone_at is not None or record.claim.status != ClaimStatus.ACTIVE:
        raise InvalidTransition(_("This claim has already ended."))
    if utcnow() - record.created_at > undo_window():
        raise InvalidTransition(
            _("A claim can be undone within %(n)d minutes only.", n=current_app.config["EVENT_UNDO_MINUTES"])
        )
    token = _claim_context.set({"event_id": event.id, "undo": True})
    try:
        wish_services.cancel_claim(record.claim, actor, "undone by the event host")
    finally:
        _claim_context.reset(token)
    record.undone_at = utcnow()
    db.session.flush()
    audit.record("event.claim_undone", event, actor, after={"wish": record.claim.wish.public_id})
    return record


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def recent_claims(event: Event) -> list[EventClaim]:
    return list(
        db.session.scalars(
            select(EventClaim).where(EventClaim.event_id == event.id).order_by(EventClaim.created_at.desc()).limit(50)
        )
    )


def room_claim(event: Event, public_id: str, name: str, contact: str, device: str, key: str | None) -> EventClaim:
    """A phone in the room claims a featured wish; one device may hold only a few claims per event."""
    key = _check_key(key)
    earlier = _existing(event, key)
    if earlier is not None:
        return earlier
    _check_live(event)
    wish = _featured_wish(event, public_id)
    cap = current_app.config["EVENT_CLAIMS_PER_DEVICE"]
    held = db.session.scalar(
        select(func.count())
        .select_from(EventClaim)
        .where(EventClaim.event_id == event.id, EventClaim.device == device, EventClaim.undone_at.is_(None))
    )
    if held >= cap:
        raise Conflict(_("One phone may claim at most %(n)d wishes at this event.", n=cap))
    token = _claim_context.set({"event_id": event.id})
    try:
        claim, _token = wish_services.claim_wish(
            wish,
            wish_services.ClaimInput(
                name=name, contact=contact, source=ClaimSource.QR, client_key=client_key("device", device)
            ),
        )
    finally:
        _claim_context.reset(token)
    record = EventClaim(event_id=event.id, claim_id=claim.id, device=device, idempotency_key=key)
    db.session.add(record)
    db.session.flush()
    return record


# --- money at the event --------------------------------------------------------------------------


def record_pledge(actor: User, event: Event, amount_fen, paddle=None) -> EventMessage:
    """Money pledged in the room (cash or a promise): it adds to the board's total at once."""
    check_host(actor)
    _check_live(event)
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or not 100 <= amount_fen <= 100_000_000:
        raise ValidationError(fields={"amount": _("Give an amount from 1 to 1,000,000 yuan.")})
    attendee = attendee_by_paddle(event, paddle) if paddle not in (None, "") else None
    data = {"amount_fen": amount_fen, "paddle": attendee.paddle if attendee else None}
    message = append(event.id, MessageKind.DONATION, data, amount_fen=amount_fen)
    audit.record("event.pledge", event, actor, after=data)
    return message
