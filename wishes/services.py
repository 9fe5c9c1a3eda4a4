"""The rules of children's files, wishes, vetting, claims and fulfilment.

Every function here takes an actor, checks before it writes, moves states only
along WISH_TRANSITIONS / CLAIM_TRANSITIONS with a conditional UPDATE, leaves an
audit row, and flushes. The caller commits.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from core import audit, cache, dates, rows, transitions
from core.audit import Actor
from core.clock import end_of_local_day, local_today, utcnow
from core.contacts import PHONE_RE, contact_key, normalise_contact
from core.database import serialise_on
from core.errors import Conflict, Forbidden, InvalidTransition, LimitReached, NotFound, ValidationError
from core.extensions import db
from core.ids import hash_token, new_token
from core.models import Role, User
from core.money import is_whole
from core.outbox import queue_notification
from core.pii import public_name_error
from core.text import clean_display_name
from core.urls import public_url
from funds.models import DonationStatus, Fund
from wishes import pii, places, signals
from wishes.models import (
    CLAIM_TRANSITIONS,
    PUBLIC_WISH_STATUSES,
    WISH_TRANSITIONS,
    Child,
    ChildCategory,
    Claim,
    ClaimSource,
    ClaimStatus,
    FulfilmentMode,
    Gender,
    Wish,
    WishCategory,
    WishStatus,
)
from wishes.stations import parcel_reference, station_of_wish

# --- checks shared by forms, the API and services -------------------------------------------


def _require(fields: dict, name: str, value, max_len: int, label, *, min_len: int = 1) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        fields[name] = _("%(label)s must be text.", label=label)
        return ""
    if len(text) < min_len:
        fields[name] = _("%(label)s is required.", label=label)
    elif len(text) > max_len:
        fields[name] = _("%(label)s may be at most %(n)d characters.", label=label, n=max_len)
    return text


def _optional(fields: dict, name: str, value, max_len: int, label) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _require(fields, name, value, max_len, label) or None


def _choice(fields: dict, name: str, value, enum_cls, label) -> str:
    try:
        return enum_cls(value).value
    except ValueError:
        fields[name] = _("%(label)s is not one of the allowed values.", label=label)
        return ""


# --- children ---------------------------------------------------------------------------------


def check_can_manage_child(actor: User, child: Child) -> None:
    if actor.has_role(Role.SUPERVISOR) or child.caseworker_id == actor.id:
        return
    raise Forbidden(_("Only the child's caseworker or a supervisor may do this."))


def _clean_child(data: dict, current: tuple | None = None) -> dict:
    fields: dict = {}
    clean = {
        "case_no": _require(fields, "case_no", data.get("case_no"), 40, _l("Case number")),
        "legal_name": _require(fields, "legal_name", data.get("legal_name"), 60, _l("Legal name")),
        "gender": _choice(fields, "gender", data.get("gender"), Gender, _l("Gender")),
        "guardian_name": _require(fields, "guardian_name", data.get("guardian_name"), 60, _l("Guardian")),
        "guardian_phone": _require(fields, "guardian_phone", data.get("guardian_phone"), 32, _l("Guardian's phone")),
        "address": _require(fields, "address", data.get("address"), 200, _l("Address")),
        "school": _optional(fields, "school", data.get("school"), 100, _l("School")),
        "category": _choice(fields, "category", data.get("category"), ChildCategory, _l("Category")),
        "district": _require(fields, "district", data.get("district"), 40, _l("District")),
        "street": _require(fields, "street", data.get("street"), 40, _l("Street")),
        "community": _optional(fields, "community", data.get("community"), 60, _l("Community")),
        "alias": _require(fields, "alias", data.get("alias"), 20, _l("Public alias")),
        "notes": _optional(fields, "notes", data.get("notes"), 2000, _l("Notes")),
    }
    if clean["guardian_phone"] and not PHONE_RE.match(clean["guardian_phone"]):
        fields["guardian_phone"] = _("Give a valid phone number.")
    birth = data.get("birth_date")
    if not isinstance(birth, date):
        fields["birth_date"] = _("Give the birth date.")
    elif birth > local_today() or birth < local_today().replace(year=local_today().year - 19):
        fields["birth_date"] = _("A child's birth date must be within the last 18 years.")
    clean["birth_date"] = birth
    if (
        clean["alias"]
        and clean["legal_name"]
        and (clean["alias"] in clean["legal_name"] or clean["legal_name"] in clean["alias"])
    ):
        fields["alias"] = _("The public alias must not contain the child's name.")
    _check_public_fields(fields, clean)
    place_fields = ("district", "street", "community")
    place = tuple(clean[name] or "" for name in place_fields)
    if not any(name in fields for name in place_fields) and place != current and not places.is_known(*place):
        fields["place"] = _("Choose the place from the list; a supervisor adds the places that are missing.")
    if fields:
        raise ValidationError(fields=fields)
    return clean


#: A child's fields that reach public pages, the API and posters (DESIGN.md §3).
PUBLIC_CHILD_FIELDS = ("alias", "district", "street")


def _check_public_fields(fields: dict, clean: dict) -> None:
    """A public field carrying personal data is refused: there is no vetting step for it."""
    for name in PUBLIC_CHILD_FIELDS:
        if name in fields or not clean.get(name):
            continue
        refusal = pii.public_field_refusal(clean[name], clean)
        if refusal:
            fields[name] = refusal


def register_child(actor: User, data: dict) -> Child:
    if not actor.has_role(Role.CASEWORKER):
        raise Forbidden()
    clean = _clean_child(data)
    if db.session.scalar(select(Child.id).where(Child.case_no == clean["case_no"])):
        raise ValidationError(fields={"case_no": _("A child with this case number is already on file.")})
    child = Child(caseworker_id=actor.id, **clean)
    _save_child(child)
    audit.record("child.registered", child, actor, after={"case_no": child.case_no, "alias": child.alias})
    return child


def update_child(actor: User, child: Child, data: dict) -> Child:
    check_can_manage_child(actor, child)
    # A place taken off the list stays valid for the children already there.
    clean = _clean_child(data, current=(child.district, child.street, child.community or ""))
    clash = db.session.scalar(select(Child.id).where(Child.case_no == clean["case_no"], Child.id != child.id))
    if clash:
        raise ValidationError(fields={"case_no": _("A child with this case number is already on file.")})
    changed = sorted(k for k, v in clean.items() if getattr(child, k) != v)
    for key in changed:
        setattr(child, key, clean[key])
    _save_child(child)
    # Names of changed fields only: the audit trail must not become a second copy of the file.
    audit.record("child.updated", child, actor, after={"changed": changed})
    return child


def _save_child(child: Child) -> None:
    """Flush a file; a case number filed meanwhile by someone else is a field error, not a crash."""
    try:
        with db.session.begin_nested():
            db.session.add(child)
            db.session.flush()
    except IntegrityError:
        raise ValidationError(fields={"case_no": _("A child with this case number is already on file.")}) from None


def open_child_file(actor: User, child: Child) -> Child:
    """Reading a private file is itself recorded."""
    check_can_manage_child(actor, child)
    audit.record("child.viewed", child, actor)
    return child


def children_for(actor: User) -> list[Child]:
    query = select(Child).options(selectinload(Child.wishes)).order_by(Child.created_at.desc())
    if not actor.has_role(Role.SUPERVISOR):
        query = query.where(Child.caseworker_id == actor.id)
    return list(db.session.scalars(query))


def wishes_for(actor: User) -> list[Wish]:
    """Wishes of the actor's children (every child's, for a supervisor), newest first."""
    query = select(Wish).join(Child).order_by(Wish.created_at.desc())
    if not actor.has_role(Role.SUPERVISOR):
        query = query.where(Child.caseworker_id == actor.id)
    return list(db.session.scalars(query).unique())


def get_child(child_id: int) -> Child:
    child = db.session.get(Child, child_id)
    if child is None:
        raise NotFound()
    return child


# --- wishes -----------------------------------------------------------------------------------


def _clean_wish(data: dict) -> dict:
    fields: dict = {}
    clean = {
        "title": _require(fields, "title", data.get("title"), 60, _l("Title"), min_len=2),
        "story": _require(fields, "story", data.get("story"), 1000, _l("Story"), min_len=10),
        "category": _choice(fields, "category", data.get("category"), WishCategory, _l("Category")),
        "modes": _choice(fields, "modes", data.get("modes") or FulfilmentMode.GIFT, FulfilmentMode, _l("Mode")),
    }
    amount = data.get("amount_fen")
    if not is_whole(amount) or amount <= 0:
        fields["amount_fen"] = _("The estimated cost must be a positive amount.")
    elif amount > current_app.config["WISH_MAX_AMOUNT_FEN"]:
        fields["amount_fen"] = _(
            "A micro-wish may cost at most %(n)d yuan.", n=current_app.config["WISH_MAX_AMOUNT_FEN"] // 100
        )
    clean["amount_fen"] = amount
    needed_by = data.get("needed_by")
    if not isinstance(needed_by, date):
        fields["needed_by"] = _("Give the date the wish is needed by.")
    elif needed_by < local_today():
        fields["needed_by"] = _("The needed-by date is in the past.")
    elif needed_by > local_today() + timedelta(days=366):
        fields["needed_by"] = _("The needed-by date must be within a year.")
    clean["needed_by"] = needed_by
    fund_slug = data.get("fund")
    clean["fund_id"] = None
    if fund_slug:
        fund = db.session.scalar(select(Fund).where(Fund.slug == fund_slug, Fund.active.is_(True)))
        if fund is None:
            fields["fund"] = _("No such fund.")
        else:
            clean["fund_id"] = fund.id
    if fields:
        raise ValidationError(fields=fields)
    return clean


def draft_wish(actor: User, child: Child, data: dict) -> Wish:
    check_can_manage_child(actor, child)
    if not actor.has_role(Role.CASEWORKER):
        raise Forbidden()
    clean = _clean_wish(data)
    wish = Wish(
        child=child,
        district=child.district,
        created_by_id=actor.id,
        currency=current_app.config["CURRENCY"],
        status=WishStatus.DRAFT,
        **clean,
    )
    db.session.add(wish)
    db.session.flush()
    audit.record("wish.drafted", wish, actor, after={"status": wish.status, "title": wish.title})
    return wish


def update_wish(actor: User, wish: Wish, data: dict) -> Wish:
    check_can_manage_child(actor, wish.child)
    if wish.status != WishStatus.DRAFT:
        raise InvalidTransition(_("Only a draft can be edited."))
    clean = _clean_wish(data)
    before = {k: _plain(getattr(wish, k)) for k in clean if getattr(wish, k) != clean[k]}
    for key in before:
        setattr(wish, key, clean[key])
    wish.district = wish.child.district
    db.session.flush()
    audit.record("wish.edited", wish, actor, before=before, after={k: _plain(clean[k]) for k in before})
    return wish


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def _move_wish(wish: Wish, to: WishStatus, actor: Actor, action: str, *, note=None, audit_after=None, **values) -> Wish:
    """Move a wish one step, only if nobody moved it first; the public lists learn of it at commit."""
    transitions.move(
        wish, to, WISH_TRANSITIONS, actor, action, note=note, audit_after=audit_after, updated_at=utcnow(), **values
    )
    cache.catalogue_changed()
    return wish


def submit_wish(actor: User, wish: Wish) -> Wish:
    check_can_manage_child(actor, wish.child)
    return _move_wish(wish, WishStatus.SUBMITTED, actor, "wish.submitted", submitted_at=utcnow())


def vet_refusal(actor: User, wish: Wish) -> str | None:
    """Why `actor` may not vet `wish`, or None. Four eyes: not its author, not anyone who edited it."""
    if not actor.has_role(Role.SUPERVISOR):
        return _("Only a supervisor may vet wishes.")
    if wish.created_by_id == actor.id:
        return _("You cannot vet a wish you drafted yourself.")
    if any(row.action == "wish.edited" and row.actor_id == actor.id for row in audit.history(wish)):
        return _("You edited this wish, so another supervisor must vet it.")
    return None


def _check_can_vet(actor: User, wish: Wish) -> None:
    refusal = vet_refusal(actor, wish)
    if refusal:
        raise Forbidden(refusal)


def approve_wish(actor: User, wish: Wish, note: str | None = None, acknowledged_reason: str | None = None) -> Wish:
    """Approval publishes the wish; text flagged as personal data needs a reason, kept in the audit row."""
    _check_can_vet(actor, wish)
    if wish.needed_by < local_today():
        raise ValidationError(_("The needed-by date has passed; return the wish for a new date."))
    warnings = pii.wish_warnings(wish)
    acknowledgement = None
    if warnings:
        reason = (acknowledged_reason or "").strip()
        if len(reason) < 4:
            raise ValidationError(
                fields={
                    "acknowledged_reason": _(
                        "The text may contain personal data: confirm and say why it can be published, "
                        "or return the wish."
                    )
                }
            )
        if len(reason) > 500:
            raise ValidationError(fields={"acknowledged_reason": _("The reason may be at most 500 characters.")})
        # The kinds and the reason, never the values found: the audit trail is not a copy of the file.
        acknowledgement = {"acknowledged": {"kinds": pii.kinds(warnings), "reason": reason}}
    return _move_wish(
        wish,
        WishStatus.PUBLISHED,
        actor,
        "wish.approved",
        note=(note or "").strip()[:500] or None,
        audit_after=acknowledgement,
        published_at=utcnow(),
        vetted_by_id=actor.id,
        reject_reason=None,
        district=wish.child.district,
    )


def reject_wish(actor: User, wish: Wish, reason: str) -> Wish:
    _check_can_vet(actor, wish)
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationError(fields={"reason": _("Say why the wish is returned.")})
    if len(reason) > 500:
        raise ValidationError(fields={"reason": _("The reason may be at most 500 characters.")})
    return _move_wish(
        wish, WishStatus.REJECTED, actor, "wish.rejected", note=reason, reject_reason=reason, vetted_by_id=actor.id
    )


def reopen_wish(actor: User, wish: Wish) -> Wish:
    check_can_manage_child(actor, wish.child)
    return _move_wish(wish, WishStatus.DRAFT, actor, "wish.reopened")


def withdraw_wish(actor: User, wish: Wish, reason: str) -> Wish:
    check_can_manage_child(actor, wish.child)
    reason = (reason or "").strip()[:500]
    if not reason:
        raise ValidationError(fields={"reason": _("Say why the wish is withdrawn.")})
    return _move_wish(wish, WishStatus.WITHDRAWN, actor, "wish.withdrawn", note=reason)


def close_wish(actor: User, wish: Wish) -> Wish:
    check_can_manage_child(actor, wish.child)
    return _move_wish(wish, WishStatus.CLOSED, actor, "wish.closed")


def get_wish(wish_id: int) -> Wish:
    wish = db.session.get(Wish, wish_id)
    if wish is None:
        raise NotFound()
    return wish


def get_public_wish(public_id: str) -> Wish:
    wish = db.session.scalar(select(Wish).where(Wish.public_id == public_id, Wish.status.in_(PUBLIC_WISH_STATUSES)))
    if wish is None:
        raise NotFound(_("This wish does not exist or is no longer shown."))
    return wish


#: Built once: most claim attempts end after this one read (see open_wish).
#: The status is checked here rather than in SQL: a fixed statement, nothing to expand per call.
_CLAIMABLE = select(Wish.id, Wish.status, Wish.version, Wish.needed_by, Wish.modes).where(
    Wish.public_id == bindparam("public_id")
)


def open_wish(connection, public_id: str) -> Wish:
    """The public wish a claim attempt names, refused at once unless it is open.

    Most attempts on a popular wish lose: they get their 404 or 409 from one narrow
    SELECT on `connection`, without loading the wish, its child and its fund. An open wish
    joins the session with what claiming it needs (core.rows.adopt); the rest loads if
    read. A wish seen open here may still be taken before the attempt writes;
    `claim_wish` decides that race.
    """
    row = connection.execute(_CLAIMABLE, {"public_id": public_id}).one_or_none()
    if row is None or row.status not in PUBLIC_WISH_STATUSES:
        raise NotFound(_("This wish does not exist or is no longer shown."))
    if row.status != WishStatus.PUBLISHED:
        raise Conflict(_("Someone has already claimed this wish."))
    return rows.adopt(Wish, {"public_id": public_id, **row._asdict()})


def vetting_queue() -> list[Wish]:
    return list(db.session.scalars(select(Wish).where(Wish.status == WishStatus.SUBMITTED).order_by(Wish.submitted_at)))


# --- claims -----------------------------------------------------------------------------------


@dataclass
class ClaimInput:
    name: str
    contact: str
    display_name: str | None = None
    anonymous: bool = False
    mode: str | None = None
    source: str = ClaimSource.WEB
    #: The claiming client (core.auth.client_key); None for a claim staff record for someone.
    client_key: str | None = None
    #: Whether the caps on active claims apply: not to a claim staff record (a host at an event).
    capped: bool = True
    #: Filled in by check_claim_input when the contact is an e-mail address.
    email: str | None = None


def check_claim_input(data: ClaimInput, wish: Wish) -> ClaimInput:
    fields: dict = {}
    name = _require(fields, "name", data.name, 60, _l("Name"))
    display = _optional(fields, "display_name", clean_display_name(data.display_name), 30, _l("Public name"))
    contact, email = data.contact, None
    try:
        contact, email = normalise_contact(data.contact)
    except ValueError as exc:
        fields["contact"] = str(exc)
    # The name a board, the list and the wish's page will show (Claim.public_name).
    shown = ("display_name", display) if display else ("name", None if data.anonymous else name)
    problem = public_name_error(shown[1])
    if problem and shown[0] not in fields:
        fields[shown[0]] = str(problem)
    mode = data.mode or (FulfilmentMode.GIFT if wish.allows_mode(FulfilmentMode.GIFT) else FulfilmentMode.MONEY)
    if mode not in (FulfilmentMode.GIFT, FulfilmentMode.MONEY):
        fields["mode"] = _("Choose gift or money.")
    elif not wish.allows_mode(mode):
        fields["mode"] = _("This wish cannot be fulfilled that way.")
    try:
        source = ClaimSource(data.source).value
    except ValueError:
        source = ClaimSource.WEB.value
    if fields:
        raise ValidationError(fields=fields)
    return ClaimInput(
        name=name,
        contact=contact,
        display_name=display,
        anonymous=bool(data.anonymous),
        mode=mode,
        source=source,
        client_key=data.client_key,
        capped=data.capped,
        email=email,
    )


def claim_due_at(wish: Wish):
    """The end of the local day hold days from today, capped by the end of the needed-by day,
    but never less than a day from now.

    A donor reads the due date as a day ("deliver by 16 December") and has all of it: the
    reminder of the due day, sent that morning, finds the claim still running."""
    now = utcnow()
    hold = end_of_local_day(local_today() + timedelta(days=current_app.config["CLAIM_HOLD_DAYS"]))
    cap = end_of_local_day(wish.needed_by)
    return max(min(hold, cap), now + timedelta(days=1))


def check_claim_caps(key: str, client: str | None, donor: User | None) -> None:
    """Nobody holds more than a few wishes at once: counted per contact (however it is written),
    per signed-in account and per client address or device.

    The counts and the new claim are one transaction, serialised per key (serialise_on), so
    parallel claims from one person cannot all pass a count taken before any of them wrote.
    """
    config = current_app.config
    checks = []
    per_contact, per_client = config["CLAIM_MAX_ACTIVE_PER_CONTACT"], config["CLAIM_MAX_ACTIVE_PER_CLIENT"]
    if per_contact:
        checks.append((f"claims:contact:{key}", Claim.contact_key == key, per_contact))
        if donor is not None:
            checks.append((f"claims:donor:{donor.id}", Claim.donor_id == donor.id, per_contact))
    if per_client and client:
        checks.append((f"claims:client:{client}", Claim.client_key == client, per_client))
    serialise_on(db.session, *(name for name, _w, _n in checks))
    for _name, where, cap in checks:
        held = db.session.scalar(
            select(func.count()).select_from(Claim).where(where, Claim.status == ClaimStatus.ACTIVE)
        )
        if held >= cap:
            raise LimitReached(
                _(
                    "You already hold %(n)d wishes. Fulfil or cancel one of them before you claim another.",
                    n=held,
                )
            )


def claim_wish(wish: Wish, data: ClaimInput, donor: User | None = None) -> tuple[Claim, str]:
    """Take a published wish for one donor; returns the claim and its private manage token.

    The conditional UPDATE on the wish decides the race; the partial unique index on
    active claims is the database's own guarantee behind it.
    """
    if wish.status != WishStatus.PUBLISHED:
        raise Conflict(_("Someone has already claimed this wish."))
    clean = check_claim_input(data, wish)
    key = contact_key(clean.contact)
    token = new_token()
    claim = Claim(
        wish_id=wish.id,
        donor_id=donor.id if donor else None,
        name=clean.name,
        contact=clean.contact,
        contact_key=key,
        client_key=clean.client_key,
        email=clean.email,
        display_name=clean.display_name,
        anonymous=clean.anonymous,
        mode=clean.mode,
        source=clean.source,
        status=ClaimStatus.ACTIVE,
        claimed_at=utcnow(),
        due_at=claim_due_at(wish),
        manage_token_hash=hash_token(token),
        locale=_request_locale(),
    )
    actor = donor or "donor"
    try:
        _move_wish(wish, WishStatus.CLAIMED, actor, "wish.claimed")
        # Counted once the wish is won: a donor who lost the race hears that, not about caps.
        if clean.capped:
            check_claim_caps(key, clean.client_key, donor)
        # One INSERT, the claim then in the session as loaded (the busiest write: core.rows).
        # A violation of the one-active-claim index fails the whole transaction; the caller rolls back.
        rows.insert(claim)
    except (Conflict, IntegrityError):
        raise Conflict(_("Someone has already claimed this wish.")) from None
    set_committed_value(claim, "wish", wish)
    audit.record(
        "claim.created",
        claim,
        actor if donor else f"donor:{claim.public_id}",
        after={"status": claim.status, "mode": claim.mode, "source": claim.source, "wish": wish.public_id},
    )
    if clean.email:
        _queue_claim_email(claim, token)
    signals.claim_made.send(claim)
    return claim, token


def _request_locale() -> str | None:
    if not has_request_context():
        return None
    return "zh_CN" if get_locale().language == "zh" else "en"


def manage_url(token: str) -> str:
    return public_url("wishes.manage_claim", token=token)


def _delivery_text(claim: Claim) -> str:
    """Where the gift goes, for the claim's mail: the station of the child's street, or a promised call."""
    station = station_of_wish(claim.wish)
    if station is None:
        return _("The caseworker will call or write to you within two working days to arrange the handover.")
    return _(
        "Where to bring the gift: %(name)s, %(address)s (%(hours)s); contact %(contact)s %(phone)s.\n"
        "To post it instead, send it to %(parcel)s and write “%(reference)s” on the parcel.\n"
        "Never to the child's home: the station hands the gift over.",
        name=station.name,
        address=f"{station.district}{station.address}",
        hours=station.hours,
        contact=station.contact_name,
        phone=station.contact_phone,
        parcel=f"{station.district}{station.parcel_address}",
        reference=parcel_reference(claim),
    )


def _queue_claim_email(claim: Claim, token: str) -> None:
    wish = claim.wish
    subject = _("Thank you for claiming the wish “%(title)s”", title=wish.title)
    body = _(
        "Thank you, %(name)s!\n\n"
        "You have claimed the wish “%(title)s” of %(alias)s (%(district)s).\n"
        "Please deliver it by %(due)s.\n\n"
        "%(delivery)s\n\n"
        "Your private link to see the due date, report the delivery or cancel:\n%(url)s\n\n"
        "Keep this link to yourself: anyone who has it can manage this claim.",
        name=claim.name,
        title=wish.title,
        alias=wish.child.alias,
        district=wish.child.public_district,
        due=dates.day(claim.due_at),
        url=manage_url(token),
        delivery=_delivery_text(claim),
    )
    queue_notification(
        kind="claim.created",
        recipient=claim.email,
        subject=subject,
        body=body,
        dedupe_key=f"claim:{claim.public_id}:created",
    )


def get_claim(claim_id: int) -> Claim:
    claim = db.session.get(Claim, claim_id)
    if claim is None:
        raise NotFound()
    return claim


def claim_of_donor(claim_public_id: str | None, donor: User) -> Claim:
    claim = db.session.scalar(select(Claim).where(Claim.public_id == claim_public_id, Claim.donor_id == donor.id))
    if claim is None:
        raise NotFound()
    return claim


def claim_by_token(token: str) -> Claim:
    if not token or len(token) > 64:
        raise NotFound()
    claim = db.session.scalar(select(Claim).where(Claim.manage_token_hash == hash_token(token)))
    if claim is None:
        raise NotFound(_("This link is not valid. Check that you copied all of it."))
    return claim


def _move_claim(claim: Claim, to: ClaimStatus, actor: Actor, action: str, *, note=None, guard=(), **values) -> Claim:
    refused = InvalidTransition(
        _("This claim is already %(status)s.", status=_claim_status_label(ClaimStatus(claim.status)))
    )
    return transitions.move(
        claim, to, CLAIM_TRANSITIONS, actor, action, note=note, guard=guard, refused=refused, **values
    )


def _claim_status_label(status: ClaimStatus) -> str:
    from wishes.models import CLAIM_STATUS_LABELS

    return str(CLAIM_STATUS_LABELS[status])


def _release(claim: Claim, to: ClaimStatus, actor: Actor, action: str, note=None, guard=(), **values) -> Claim:
    """End an active claim without fulfilment and put the wish back on the public list."""
    _move_claim(claim, to, actor, action, note=note, guard=guard, ended_at=utcnow(), **values)
    wish = claim.wish
    db.session.refresh(wish)
    if wish.status == WishStatus.CLAIMED:
        _move_wish(wish, WishStatus.PUBLISHED, actor, "wish.released", note=action)
    signals.claim_released.send(claim)
    return claim


def cancel_claim(claim: Claim, actor: Actor, reason: str | None = None) -> Claim:
    reason = (reason or "").strip()[:200] or None
    return _release(claim, ClaimStatus.CANCELLED, actor, "claim.cancelled", note=reason, cancel_reason=reason)


def expire_claim(claim: Claim, actor: Actor = "system") -> Claim:
    """A claim past its due date, never delivered, frees the wish for someone else."""
    if isinstance(actor, User):
        check_can_manage_child(actor, claim.wish.child)
    if claim.status != ClaimStatus.ACTIVE:
        raise InvalidTransition()
    if claim.due_at > utcnow():
        raise InvalidTransition(_("This claim is not yet due."))
    if claim.delivery_reported_at is not None:
        raise InvalidTransition(_("The donor has reported the delivery; confirm or follow up instead."))
    note = "payment not received in time" if awaiting_payment(claim) else None
    # A payment that lands meanwhile moves the due date on: then the claim is no longer overdue.
    now = utcnow()
    return _release(claim, ClaimStatus.EXPIRED, actor, "claim.expired", note=note, guard=(Claim.due_at <= now,))


def extend_claim(claim: Claim, due_at, actor: Actor) -> Claim:
    """Move an active claim's due date later, never past the end of the wish's needed-by day."""
    if claim.status != ClaimStatus.ACTIVE:
        raise InvalidTransition(_("Only a claim in progress can be given more time."))
    due_at = min(due_at, end_of_local_day(claim.wish.needed_by))
    if due_at <= claim.due_at:
        raise InvalidTransition(_("The wish is needed by its date: the due date cannot move later."))
    before = {"due_at": claim.due_at.isoformat()}
    result = db.session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == ClaimStatus.ACTIVE, Claim.due_at == claim.due_at)
        .values(due_at=due_at)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(claim)
    if result.rowcount != 1:
        raise Conflict(_("This claim changed meanwhile; open the link again."))
    audit.record("claim.extended", claim, actor, before=before, after={"due_at": due_at.isoformat()})
    return claim


def hold_for_payment(claim: Claim, donation, actor: Actor) -> Claim:
    """A money claim paid online in full is held only for a short time, until its payment ends."""
    before = {"due_at": claim.due_at.isoformat()}
    claim.donation_id = donation.id
    claim.due_at = utcnow() + timedelta(minutes=current_app.config["WISH_PAYMENT_HOLD_MINUTES"])
    db.session.flush()
    audit.record(
        "claim.awaiting_payment",
        claim,
        actor,
        before=before,
        after={"due_at": claim.due_at.isoformat(), "donation": donation.public_id},
    )
    return claim


def awaiting_payment(claim: Claim) -> bool:
    return claim.donation is not None and claim.donation.status == DonationStatus.PENDING


def claim_paid(claim: Claim, actor: Actor) -> bool:
    """The money of a claim paid online arrived: it keeps the wish for the normal time.

    False when the claim had already ended (released while the payment was pending).
    """
    if claim.status != ClaimStatus.ACTIVE:
        return False
    before = {"due_at": claim.due_at.isoformat()}
    due = claim_due_at(claim.wish)
    result = db.session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == ClaimStatus.ACTIVE)
        .values(due_at=due)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(claim)
    if result.rowcount != 1:
        return False
    audit.record("claim.paid", claim, actor, before=before, after={"due_at": due.isoformat()})
    return True


def claim_payment_failed(claim: Claim, actor: Actor) -> bool:
    """The payment of a claim paid online failed or expired: the wish goes back to the list."""
    if claim.status != ClaimStatus.ACTIVE:
        return False
    cancel_claim(claim, actor, "payment failed")
    return True


def overdue_claims() -> list[Claim]:
    return list(
        db.session.scalars(
            select(Claim)
            .where(
                Claim.status == ClaimStatus.ACTIVE,
                Claim.due_at <= utcnow(),
                Claim.delivery_reported_at.is_(None),
            )
            .order_by(Claim.due_at)
        )
    )


def report_delivery(claim: Claim, actor: Actor, note: str, photo: str | None = None) -> Claim:
    if claim.status != ClaimStatus.ACTIVE:
        raise InvalidTransition(_("Only a claim in progress can be reported as delivered."))
    note = (note or "").strip()
    if len(note) > 1000:
        raise ValidationError(fields={"note": _("The note may be at most 1000 characters.")})
    if not note and not photo:
        raise ValidationError(fields={"note": _("Add a note or a photo of the delivery.")})
    before = {"delivery_reported": claim.delivery_reported_at is not None}
    claim.delivery_note = note or None
    if photo:
        claim.delivery_photo = photo
    claim.delivery_reported_at = utcnow()
    db.session.flush()
    audit.record(
        "claim.delivery_reported", claim, actor, before=before, after={"delivery_reported": True, "photo": bool(photo)}
    )
    return claim


def confirm_fulfilment(
    actor: User,
    claim: Claim,
    note: str | None = None,
    photo: str | None = None,
    *,
    photo_shows_no_child: bool = False,
    photo_public: bool = False,
) -> Claim:
    """The caseworker saw the gift reach the child: the wish has come true.

    The note is the caseworker's thank-you, shown to the donor on the claim's page, and so is
    the photo, shared only when the caseworker confirms that it shows no child's face; with
    `photo_public` the caseworker also shows it on the fund's public transparency page."""
    check_can_manage_child(actor, claim.wish.child)
    if photo and not photo_shows_no_child:
        raise ValidationError(
            fields={"photo": _("Confirm that the photo shows the gift and no child's face before sharing it.")}
        )
    note = (note or "").strip()
    if len(note) > 500:
        raise ValidationError(fields={"note": _("The note may be at most 500 characters.")})
    problem = pii.scan_text(note, claim.wish.child)
    if problem:
        labels = "、".join(dict.fromkeys(w.label for w in problem))
        raise ValidationError(
            fields={"note": _("The donor reads this note: leave out personal data (%(kinds)s).", kinds=labels)}
        )
    _move_claim(
        claim,
        ClaimStatus.FULFILLED,
        actor,
        "claim.fulfilled",
        note=note or None,
        ended_at=utcnow(),
        thanks_note=note or None,
        thanks_photo=photo,
        thanks_photo_public=bool(photo and photo_public),
    )
    _move_wish(claim.wish, WishStatus.FULFILLED, actor, "wish.fulfilled", fulfilled_at=utcnow())
    signals.wish_fulfilled.send(claim)
    return claim


def attach_claim(claim: Claim, donor: User) -> Claim:
    """Keep a claim made as a guest in the donor's account."""
    if claim.donor_id not in (None, donor.id):
        raise Forbidden()
    if claim.donor_id == donor.id:
        return claim
    claim.donor_id = donor.id
    db.session.flush()
    audit.record("claim.attached", claim, donor, after={"donor": donor.id})
    return claim


def claims_of(donor: User) -> list[Claim]:
    return list(db.session.scalars(select(Claim).where(Claim.donor_id == donor.id).order_by(Claim.claimed_at.desc())))


def claims_to_follow(actor: User) -> list[Claim]:
    """Active claims on the actor's children (all of them for a supervisor), soonest due first."""
    query = select(Claim).join(Wish).join(Child).where(Claim.status == ClaimStatus.ACTIVE).order_by(Claim.due_at)
    if not actor.has_role(Role.SUPERVISOR):
        query = query.where(Child.caseworker_id == actor.id)
    return list(db.session.scalars(query))
