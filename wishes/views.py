"""Public wish pages, the donor's private manage page, and the caseworker/supervisor pages."""

from functools import lru_cache
from typing import NamedTuple
from urllib.parse import quote

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, get_translations, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from jinja2 import pass_context
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from core import audit, cache, dates, fragments, qr, share
from core.auth import client_key, roles_required
from core.clock import age_in_years, local_today, utcnow
from core.errors import Conflict, DomainError, LimitReached, ValidationError
from core.extensions import db, limiter
from core.forms import ActionForm
from core.forms_util import apply_errors
from core.models import Role
from core.money import format_money
from core.transactions import run_action, submit_form, transaction
from core.uploads import discard_image, save_image, send_image
from core.urls import public_url
from funds.models import Fund
from wishes import catalogue, payments, pii, places, queries, search, services, stations
from wishes import history as wish_history
from wishes.forms import (
    CancelForm,
    ChildForm,
    ClaimForm,
    DeliveryForm,
    NoteForm,
    PlaceForm,
    ReasonForm,
    StationForm,
    WishForm,
)
from wishes.models import (
    WISH_CATEGORY_LABELS,
    WISH_STATUS_LABELS,
    ClaimSource,
    FulfilmentMode,
    WishCategory,
    WishStatus,
)

bp = Blueprint("wishes", __name__)


def _int_arg(name: str, default: int | None = None, *, lo: int = 1, hi: int = 10**9, args=None) -> int | None:
    value = (request.args if args is None else args).get(name, "")
    if not value.isdigit():
        return default
    return max(lo, min(hi, int(value)))


def _yuan_arg(name: str, args=None) -> int | None:
    from core.money import MoneyError, parse_yuan

    value = (request.args if args is None else args).get(name, "").strip()
    if not value:
        return None
    try:
        return parse_yuan(value)
    except MoneyError:
        return None


# --- public ---------------------------------------------------------------------------------


class Card(NamedTuple):
    """What a wish card on the list page shows, already formatted."""

    href: str
    category: str
    title: str
    who: str
    amount: str
    needed_by: str
    status: str
    status_label: str


@lru_cache(maxsize=4096)
def _formatted(locale: str, kind: str, value, currency: str | None = None) -> str:
    # Babel's formatters and the catalogue lookups cost the list page more than its query
    # did; their answers depend only on the locale (part of the key) and the value.
    if kind == "money":
        return format_money(value, currency)
    if kind == "date":
        return dates.day(value)
    if kind == "category":
        return str(WISH_CATEGORY_LABELS.get(value, value))
    return str(WISH_STATUS_LABELS.get(value, value))


def _categories() -> list[tuple[str, str]]:
    locale = str(get_locale())
    return [(category.value, _formatted(locale, "category", category.value)) for category in WishCategory]


def _cards(rows, locale: str) -> Markup:
    """The cards of the list page as one piece of HTML, each rendered once per content, locale and date.

    A card shows nothing but its row (the wish and its child, as read for this very request),
    the locale's labels and formats, and the child's age on the local date; those are the
    cache key, so a card is rendered again as soon as anything it shows has changed (a
    claim, an edit of the wish or of its child), and a page rendered after a claim renders
    only the card that moved into it."""
    # Every card links to the same route; its URL is built once per mount point, not once a card.
    return _cards_html(locale, local_today(), _route_url("wishes.detail", request.script_root), tuple(rows))


@lru_cache(maxsize=1024)
def _cards_html(locale: str, today, detail: str, rows: tuple) -> Markup:
    # A page's cards together, under the same key as each card: a page of cards seen before is
    # one lookup. Each card is Markup already: joined as it is, not escaped once more.
    return Markup("\n  ".join([_card_html(locale, today, detail, row) for row in rows]))  # nosec B704


@lru_cache(maxsize=16)
def _route_url(endpoint: str, _script_root: str) -> str:
    """The list's URL, or the wish page's URL without its id, for the app mounted at the script
    root that is part of the key (the same for every request of one deployment)."""
    if endpoint == "wishes.detail":
        return url_for(endpoint, public_id="-")[:-1]
    return url_for(endpoint)


@lru_cache(maxsize=4096)
def _card_html(locale: str, today, detail: str, row) -> Markup:
    # `row` is a queries.CardRow: it hashes and compares as the tuple of its values.
    card = Card(
        href=detail + quote(row.public_id, safe=""),
        category=_formatted(locale, "category", row.category),
        title=row.title,
        who=f"{_('%(alias)s, %(age)d years old') % {'alias': row.alias, 'age': age_in_years(row.birth_date, today)}}"
        f" · {catalogue.public_place(row.district, row.street)}",
        amount=_formatted(locale, "money", row.amount_fen, row.currency),
        needed_by=_("needed by %(date)s") % {"date": _formatted(locale, "date", row.needed_by)},
        status=row.status,
        status_label=_formatted(locale, "status", row.status),
    )
    # Rendered by an autoescaping template: every value in it is escaped already.
    return Markup(current_app.jinja_env.get_template("wishes/_card.html").render(card=card))  # nosec B704


def _catalogue_gettext() -> dict:
    """The page's gettext and ngettext, bound to the request's catalogue.

    Flask-Babel's template callables look the catalogue up again for every string (some
    thirty on the list page). These behave as Jinja's newstyle ones do: the translation is
    marked safe, then %-formatted with the escaped variables."""
    return _bound_gettext(get_translations())


@lru_cache(maxsize=8)
def _bound_gettext(translations) -> dict:
    # One catalogue per locale, loaded once per process: the callables are made once for each.
    @pass_context
    def gettext(context, string, **variables):
        text = translations.ugettext(string)
        # The text is this site's own catalogue entry, as trusted as the template it stands in.
        text = Markup(text) if context.eval_ctx.autoescape else text  # nosec B704
        # Formatting with no variables changes nothing but a "%%": skip it where there is no "%".
        return text % variables if variables or "%" in text else text

    @pass_context
    def ngettext(context, singular, plural, num, **variables):
        variables.setdefault("num", num)
        text = translations.ungettext(singular, plural, num)
        return (Markup(text) if context.eval_ctx.autoescape else text) % variables  # nosec B704

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


@bp.get("/")
@bp.get("/wishes")
@cache.public_page
def index():
    # A plain dict: a MultiDict answers a missing key by raising and catching an exception.
    args = request.args.to_dict()
    status = args.get("status", WishStatus.PUBLISHED)
    if status not in (WishStatus.PUBLISHED, WishStatus.CLAIMED, WishStatus.FULFILLED):
        status = WishStatus.PUBLISHED
    f = queries.WishFilter(
        district=args.get("district") or None,
        street=args.get("street") or None,
        category=args.get("category") or None,
        status=status,
        max_amount_fen=_yuan_arg("max_yuan", args),
        sort=args.get("sort") if args.get("sort") in queries.SORTS else "newest",
        q=(args.get("q") or "").strip()[: search.QUERY_MAX_LENGTH] or None,
    )
    summary = catalogue.summary()
    page_number = _int_arg("page", 1, hi=100_000, args=args)
    page = queries.public_cards(f, page_number, current_app.config["PUBLIC_PAGE_SIZE"], summary)
    locale = str(get_locale())
    list_url = _route_url("wishes.index", request.script_root)

    def render(holes: dict) -> str:
        return render_template(
            "wishes/index.html",
            page=page,
            filter=f,
            filters=_filters_html(locale, list_url, f, args.get("max_yuan", ""), summary.districts),
            list_url=list_url,
            districts=summary.districts,
            search_max=search.QUERY_MAX_LENGTH,
            counts={status: holes[status] for status in _COUNTED},
            result_count=holes["result_count"],
            cards=holes["cards"],
            **_catalogue_gettext(),
        )

    holes = {
        **{status: summary.counts.get(status, 0) for status in _COUNTED},
        "result_count": _result_count(locale, page.total, page.more_than),
        "cards": _cards(page.items, locale),
    }
    if fragments.frameable():
        # Everything but the holes follows from the URL, the locale, the district menu and the
        # page's place among the pages: the frame's key.
        key = ("wishes.index", locale, request.script_root, request.full_path, summary.districts)
        key += (page.page, page.pages, bool(page.items))
        frame = fragments.frame(key, holes, render)
        if frame is not None:
            return frame.fill(holes)
    return render(holes)


#: The statuses whose counts the list shows, in its hero and its tabs, as the template names them.
_COUNTED = ("published", "claimed", "fulfilled")


@lru_cache(maxsize=1024)
def _result_count(locale: str, total: int, more_than: int | None) -> Markup:
    # The site's own catalogue text with a number in it, as the template's gettext would print it;
    # once per locale (the request's, part of the key) and number.
    if more_than:
        return Markup(_("More than %(num)d wishes", num=more_than))  # nosec B704
    return Markup(ngettext("%(num)d wish", "%(num)d wishes", total))  # nosec B704


@lru_cache(maxsize=1024)
def _filters_html(locale: str, list_url: str, f: queries.WishFilter, max_yuan: str, districts) -> Markup:
    """The filter form, rendered once per locale, filter and district menu.

    It shows neither counts nor wishes, so it outlives claims: the district menu changes only
    when a place gains its first public wish or loses its last. The request's locale is the
    key's, so its catalogue is the one to render with."""
    template = current_app.jinja_env.get_template("wishes/_filters.html")
    # Rendered by an autoescaping template: every value in it is escaped already.
    return Markup(  # nosec B704
        template.render(
            list_url=list_url,
            filter=f,
            max_yuan=max_yuan,
            districts=districts,
            categories=_categories(),
            **_catalogue_gettext(),
        )
    )


def ways_to_fulfil(wish) -> list[str]:
    """How a donor may make this wish come true: buy the gift, give the money to the caseworker,
    pay the whole amount online to the wish's fund."""
    ways = [mode for mode in (FulfilmentMode.GIFT, FulfilmentMode.MONEY) if wish.allows_mode(mode)]
    if payments.wish_payable(wish):
        ways.append("online")
    return ways


def _detail_page(wish, form, status=200):
    ways = ways_to_fulfil(wish)
    chosen = form.mode.data if form.mode.data in ways else request.args.get("way")
    if chosen not in ways:
        chosen = ways[0] if len(ways) == 1 else None
    if chosen in (FulfilmentMode.GIFT, FulfilmentMode.MONEY):
        form.mode.data = chosen
    page = render_template("wishes/detail.html", wish=wish, form=form, source=_source(), ways=ways, way=chosen)
    return page, status


@bp.get("/wishes/<public_id>")
def detail(public_id: str):
    return _detail_page(services.get_public_wish(public_id), ClaimForm())


def _source() -> str:
    src = request.values.get("src")
    return src if src in (ClaimSource.QR, ClaimSource.WEB) else ClaimSource.WEB


@bp.post("/wishes/<public_id>/claim")
@limiter.limit(lambda: current_app.config["CLAIM_RATE_LIMIT"])
def claim(public_id: str):
    wish = services.get_public_wish(public_id)
    form = ClaimForm()
    if not form.validate():
        return _detail_page(wish, form, 422)
    data = services.ClaimInput(
        name=form.name.data,
        contact=form.contact.data,
        display_name=form.display_name.data,
        anonymous=form.anonymous.data,
        mode=form.mode.data or None,
        source=_source(),
        client_key=client_key(),
    )
    donor = current_user if current_user.is_authenticated else None
    try:
        with transaction():
            claim, token = services.claim_wish(wish, data, donor=donor)
    except ValidationError as exc:
        apply_errors(form, exc)
        return _detail_page(wish, form, 422)
    except (Conflict, LimitReached) as exc:
        flash(str(exc.message), "error")
        return _detail_page(services.get_public_wish(public_id), form, exc.status)
    flash(_("Thank you! The wish is yours. Keep the link of this page: it is how you manage your claim."), "success")
    return redirect(url_for("wishes.manage_claim", token=token, new=1))


@bp.get("/wishes/<public_id>/qr.<any(svg, png):fmt>")
def wish_qr(public_id: str, fmt: str):
    wish = services.get_public_wish(public_id)
    target = public_url("wishes.detail", public_id=wish.public_id, src="qr")
    return qr.response(target, fmt)


@bp.get("/wishes/<public_id>/share.png")
def share_image(public_id: str):
    """The wish as a picture to save and post in a WeChat moment: title, the child's public view, QR code."""
    wish = services.get_public_wish(public_id)
    child = wish.child.public_view()
    return share.response(
        _("Micro-wish"),
        wish.title,
        [
            _("%(alias)s, %(age)d years old", alias=child["alias"], age=child["age"]) + " · " + child["district"],
            _("Estimated cost %(amount)s", amount=format_money(wish.amount_fen, wish.currency)),
        ],
        public_url("wishes.detail", public_id=wish.public_id, src="qr"),
        _("Scan to help this wish come true"),
        f"wish-{wish.public_id}.png",
    )


@bp.get("/posters/wish/<public_id>")
def poster(public_id: str):
    """A printable A4 or A5 page with the wish's QR code: its title and the child's public view, nothing more."""
    wish = services.get_public_wish(public_id)
    size = request.args.get("size") if request.args.get("size") in ("a4", "a5") else "a4"
    return render_template(
        "poster.html",
        kind="wish",
        size=size,
        title=wish.title,
        child=wish.child.public_view(),
        qr_url=url_for("wishes.wish_qr", public_id=wish.public_id, fmt="svg"),
        target=public_url("wishes.detail", public_id=wish.public_id, src="qr"),
    )


# --- the donor's private manage page -------------------------------------------------------------
# Each route answers both to the private token and, for a signed-in donor, to the claim's id.


def _resolve_claim(token: str | None, claim_id: str | None):
    if token is not None:
        return services.claim_by_token(token), {"token": token}
    if not current_user.is_authenticated:
        abort(404)
    claim = services.claim_of_donor(claim_id, current_user)
    return claim, {"claim_id": claim.public_id}


def _manage_page(claim, ref: dict, status: int = 200, **forms):
    context = {
        "claim": claim,
        "wish": claim.wish,
        "ref": ref,
        "manage_url": services.manage_url(ref["token"]) if "token" in ref else None,
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        "delivery_form": forms.get("delivery_form") or DeliveryForm(),
        "action_form": ActionForm(),
        "is_new": request.args.get("new") == "1",
        "nearby": queries.open_wishes_near(claim.wish),
    }
    station = stations.station_of_wish(claim.wish)
    context.update(
        station=station,
        map_url=stations.map_url(station) if station else None,
        reference=stations.parcel_reference(claim),
    )
    response = current_app.make_response((render_template("wishes/manage.html", **context), status))
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _donor_actor(claim):
    return current_user if current_user.is_authenticated else f"donor:{claim.public_id}"


@bp.get("/claims/manage/<token>")
@bp.get("/me/claims/<claim_id>")
def manage_claim(token: str | None = None, claim_id: str | None = None):
    claim, ref = _resolve_claim(token, claim_id)
    return _manage_page(claim, ref)


@bp.post("/claims/manage/<token>/cancel")
@bp.post("/me/claims/<claim_id>/cancel")
def cancel_claim(token: str | None = None, claim_id: str | None = None):
    claim, ref = _resolve_claim(token, claim_id)
    form = CancelForm()
    if not form.validate():
        return _manage_page(claim, ref, 422, cancel_form=form)
    with transaction():
        services.cancel_claim(claim, _donor_actor(claim), form.reason.data)
    flash(_("Your claim is cancelled and the wish is open to other donors again."), "info")
    return redirect(url_for("wishes.manage_claim", **ref))


@bp.post("/claims/manage/<token>/delivery")
@bp.post("/me/claims/<claim_id>/delivery")
def report_delivery(token: str | None = None, claim_id: str | None = None):
    claim, ref = _resolve_claim(token, claim_id)
    form = DeliveryForm()
    if form.validate():
        photo, previous = None, claim.delivery_photo
        try:
            with transaction():
                if form.photo.data and form.photo.data.filename:
                    photo = save_image(form.photo.data.stream)
                services.report_delivery(claim, _donor_actor(claim), form.note.data, photo)
        except Exception as exc:
            discard_image(photo)
            if not isinstance(exc, ValidationError):
                raise
            apply_errors(form, exc)
        else:
            if photo and previous:
                discard_image(previous)
            flash(_("Thank you! The caseworker will confirm when the gift has reached the child."), "success")
            return redirect(url_for("wishes.manage_claim", **ref))
    return _manage_page(claim, ref, 422, delivery_form=form)


@bp.post("/claims/manage/<token>/attach")
@login_required
def attach_claim(token: str):
    claim = services.claim_by_token(token)
    if not ActionForm().validate():
        abort(400)
    with transaction():
        services.attach_claim(claim, current_user)
    flash(_("This claim is now kept in your account."), "success")
    return redirect(url_for("donors.my_claims"))


@bp.get("/claims/manage/<token>/photo")
@bp.get("/me/claims/<claim_id>/photo")
def manage_photo(token: str | None = None, claim_id: str | None = None):
    claim, _ref = _resolve_claim(token, claim_id)
    return send_image(claim.delivery_photo)


@bp.get("/wishes/<public_id>/thanks-photo")
def public_thanks_photo(public_id: str):
    """The photo of a fulfilled wish's gift, where the caseworker chose to show it in public."""
    return send_image(queries.public_thanks_photo(public_id))


@bp.get("/claims/manage/<token>/thanks-photo")
@bp.get("/me/claims/<claim_id>/thanks-photo")
def manage_thanks_photo(token: str | None = None, claim_id: str | None = None):
    claim, _ref = _resolve_claim(token, claim_id)
    return send_image(claim.thanks_photo)


# --- staff: children ----------------------------------------------------------------------------

STAFF = "/staff"


@bp.get(f"{STAFF}/children")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def children():
    return render_template("wishes/staff_children.html", children=services.children_for(current_user))


def _child_data(form: ChildForm) -> dict:
    data = {name: field.data for name, field in form._fields.items() if name not in ("csrf_token", "place")}
    data["district"], data["street"], data["community"] = places.split(form.place.data)
    return data


#: The service's place fields are one choice on the form.
PLACE_FIELDS_ON_FORM = {"district": "place", "street": "place", "community": "place"}


def _child_form(child=None) -> ChildForm:
    """The child's form, its place chosen from the managed list (and the child's own, if it left the list)."""
    form = ChildForm(obj=child)
    choices = [SelectChoice("", _("Choose…"))] + [SelectChoice(p.value, p.label) for p in places.all_places(True)]
    if child is not None:
        current = f"{child.district}|{child.street}|{child.community or ''}"
        if current not in {c.value for c in choices}:
            choices.append(
                SelectChoice(current, " · ".join(filter(None, (child.district, child.street, child.community))))
            )
        if not form.is_submitted():
            form.place.data = current
    form.place.choices = choices
    return form


@bp.route(f"{STAFF}/children/new", methods=["GET", "POST"])
@roles_required(Role.CASEWORKER)
def new_child():
    form = _child_form()
    if form.validate_on_submit():
        ok, child = submit_form(
            form, lambda: services.register_child(current_user, _child_data(form)), PLACE_FIELDS_ON_FORM
        )
        if ok:
            flash(_("The child's file is saved."), "success")
            return redirect(url_for("wishes.child", child_id=child.id))
    return render_template("wishes/staff_child_form.html", form=form, child=None), 422 if form.errors else 200


@bp.get(f"{STAFF}/children/<int:child_id>")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def child(child_id: int):
    with transaction():
        child = services.open_child_file(current_user, services.get_child(child_id))
    return render_template("wishes/staff_child.html", child=child)


@bp.route(f"{STAFF}/children/<int:child_id>/edit", methods=["GET", "POST"])
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def edit_child(child_id: int):
    child = services.get_child(child_id)
    # Before the form is built from the file: a refused form must not echo it back.
    services.check_can_manage_child(current_user, child)
    form = _child_form(child)
    if form.validate_on_submit():
        ok, _child = submit_form(
            form, lambda: services.update_child(current_user, child, _child_data(form)), PLACE_FIELDS_ON_FORM
        )
        if ok:
            flash(_("The child's file is saved."), "success")
            return redirect(url_for("wishes.child", child_id=child.id))
    elif request.method == "GET":
        with transaction():
            services.open_child_file(current_user, child)
    return render_template("wishes/staff_child_form.html", form=form, child=child), 422 if form.errors else 200


# --- staff: wishes ------------------------------------------------------------------------------


def _wish_form(**kwargs) -> WishForm:
    form = WishForm(**kwargs)
    funds = db.session.scalars(db.select(Fund).where(Fund.active.is_(True)).order_by(Fund.name))
    form.fund.choices = [SelectChoice("", _("No fund"))] + [SelectChoice(f.slug, f.name) for f in funds]
    return form


@bp.route(f"{STAFF}/children/<int:child_id>/wishes/new", methods=["GET", "POST"])
@roles_required(Role.CASEWORKER)
def new_wish(child_id: int):
    child = services.get_child(child_id)
    services.check_can_manage_child(current_user, child)
    form = _wish_form()
    if form.validate_on_submit():
        ok, wish = submit_form(
            form, lambda: services.draft_wish(current_user, child, form.data_for_service()), {"amount_fen": "amount"}
        )
        if ok:
            flash(_("The wish is saved as a draft. Submit it for vetting when it is ready."), "success")
            return redirect(url_for("wishes.staff_wish", wish_id=wish.id))
    return render_template(
        "wishes/staff_wish_form.html", form=form, child=child, wish=None
    ), 422 if form.errors else 200


@bp.route(f"{STAFF}/wishes/<int:wish_id>/edit", methods=["GET", "POST"])
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def edit_wish(wish_id: int):
    wish = services.get_wish(wish_id)
    services.check_can_manage_child(current_user, wish.child)
    if wish.status != WishStatus.DRAFT:
        flash(_("Only a draft can be edited."), "error")
        return redirect(url_for("wishes.staff_wish", wish_id=wish.id))
    form = _wish_form(obj=wish, data={"fund": wish.fund.slug if wish.fund else ""})
    if request.method == "GET":
        from core.money import fen_to_yuan_str

        form.amount.data = fen_to_yuan_str(wish.amount_fen)
    if form.validate_on_submit():
        ok, _wish = submit_form(
            form, lambda: services.update_wish(current_user, wish, form.data_for_service()), {"amount_fen": "amount"}
        )
        if ok:
            flash(_("The draft is saved."), "success")
            return redirect(url_for("wishes.staff_wish", wish_id=wish.id))
    warnings = pii.scan_text(f"{form.title.data or ''}\n{form.story.data or ''}", wish.child)
    return render_template(
        "wishes/staff_wish_form.html", form=form, child=wish.child, wish=wish, warnings=warnings
    ), 422 if form.errors else 200


@bp.get(f"{STAFF}/wishes")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def staff_wishes():
    return render_template("wishes/staff_wishes.html", wishes=services.wishes_for(current_user))


@bp.get(f"{STAFF}/wishes/<int:wish_id>")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def staff_wish(wish_id: int):
    wish = services.get_wish(wish_id)
    services.check_can_manage_child(current_user, wish.child)
    history = audit.history(wish)
    for claim in wish.claims:
        history.extend(audit.history(claim))
    history.sort(key=lambda row: (row.at, row.id))
    return render_template(
        "wishes/staff_wish.html",
        wish=wish,
        history=history,
        describe=wish_history.describe,
        warnings=pii.wish_warnings(wish),
        action_form=ActionForm(),
        reason_form=ReasonForm(),
        note_form=NoteForm(),
    )


def _staff_action(wish_id: int, action, success: str):
    wish = services.get_wish(wish_id)
    form = ActionForm()
    if not form.validate():
        abort(400)
    run_action(lambda: action(wish), success)
    return redirect(url_for("wishes.staff_wish", wish_id=wish_id))


@bp.post(f"{STAFF}/wishes/<int:wish_id>/submit")
@roles_required(Role.CASEWORKER)
def submit_wish(wish_id: int):
    return _staff_action(wish_id, lambda w: services.submit_wish(current_user, w), _("Submitted for vetting."))


@bp.post(f"{STAFF}/wishes/<int:wish_id>/reopen")
@roles_required(Role.CASEWORKER)
def reopen_wish(wish_id: int):
    return _staff_action(wish_id, lambda w: services.reopen_wish(current_user, w), _("The wish is a draft again."))


@bp.post(f"{STAFF}/wishes/<int:wish_id>/withdraw")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def withdraw_wish(wish_id: int):
    reason = request.form.get("reason", "")
    return _staff_action(
        wish_id, lambda w: services.withdraw_wish(current_user, w, reason), _("The wish is withdrawn.")
    )


@bp.post(f"{STAFF}/wishes/<int:wish_id>/close")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def close_wish(wish_id: int):
    return _staff_action(wish_id, lambda w: services.close_wish(current_user, w), _("The wish is closed."))


# --- staff: places ------------------------------------------------------------------------------


@bp.route(f"{STAFF}/places", methods=["GET", "POST"])
@roles_required(Role.SUPERVISOR)
def places_list():
    """The managed list of districts, streets and communities that children's files choose from."""
    form = PlaceForm()
    if form.validate_on_submit():
        ok, place = submit_form(
            form, lambda: places.add_place(current_user, form.district.data, form.street.data, form.community.data)
        )
        if ok:
            flash(_("%(place)s is on the list.", place=place.label), "success")
            return redirect(url_for("wishes.places_list"))
    page = render_template("wishes/staff_places.html", form=form, places=places.all_places())
    return page, 422 if form.errors else 200


# --- staff: delivery stations -------------------------------------------------------------------


@bp.get(f"{STAFF}/stations")
@roles_required(Role.SUPERVISOR)
def stations_list():
    return render_template("wishes/staff_stations.html", stations=stations.all_stations())


@bp.route(f"{STAFF}/stations/new", methods=["GET", "POST"])
@roles_required(Role.SUPERVISOR)
def new_station():
    form = StationForm()
    if form.validate_on_submit():
        ok, _station = submit_form(form, lambda: stations.create_station(current_user, form.data))
        if ok:
            flash(_("The station is saved."), "success")
            return redirect(url_for("wishes.stations_list"))
    return render_template("wishes/staff_station_form.html", form=form, station=None), 422 if form.errors else 200


@bp.route(f"{STAFF}/stations/<int:station_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SUPERVISOR)
def edit_station(station_id: int):
    station = stations.get_station(station_id)
    form = StationForm(obj=station)
    if form.validate_on_submit():
        ok, _station = submit_form(form, lambda: stations.update_station(current_user, station, form.data))
        if ok:
            flash(_("The station is saved."), "success")
            return redirect(url_for("wishes.stations_list"))
    return render_template("wishes/staff_station_form.html", form=form, station=station), 422 if form.errors else 200


# --- staff: vetting -----------------------------------------------------------------------------


@bp.get(f"{STAFF}/vetting")
@roles_required(Role.SUPERVISOR)
def vetting_queue():
    wishes = services.vetting_queue()
    warnings = {wish.id: pii.wish_warnings(wish) for wish in wishes}
    return render_template("wishes/vetting_queue.html", wishes=wishes, warnings=warnings)


@bp.get(f"{STAFF}/vetting/<int:wish_id>")
@roles_required(Role.SUPERVISOR)
def vetting_review(wish_id: int):
    return _review_page(services.get_wish(wish_id))


def _review_page(wish, status: int = 200):
    return render_template(
        "wishes/vetting_review.html",
        wish=wish,
        warnings=pii.wish_warnings(wish),
        note_form=NoteForm(),
        reason_form=ReasonForm(),
        vet_refusal=services.vet_refusal(current_user, wish),
    ), status


@bp.post(f"{STAFF}/wishes/<int:wish_id>/approve")
@roles_required(Role.SUPERVISOR)
def approve_wish(wish_id: int):
    note = request.form.get("note", "")
    # The reason counts only with the box ticked: a reason typed and then unticked is no acknowledgement.
    acknowledged = request.form.get("acknowledged_reason", "") if request.form.get("acknowledge") else None
    return _vet(
        wish_id,
        lambda w: services.approve_wish(current_user, w, note, acknowledged_reason=acknowledged),
        _("Approved: the wish is now public."),
    )


@bp.post(f"{STAFF}/wishes/<int:wish_id>/reject")
@roles_required(Role.SUPERVISOR)
def reject_wish(wish_id: int):
    reason = request.form.get("reason", "")
    return _vet(wish_id, lambda w: services.reject_wish(current_user, w, reason), _("Returned to the caseworker."))


def _vet(wish_id: int, action, success: str):
    wish = services.get_wish(wish_id)
    if not ActionForm().validate():
        abort(400)
    try:
        with transaction():
            action(wish)
    except DomainError as exc:
        flash(str(next(iter(exc.fields.values()), None) or exc.message), "error")
        if isinstance(exc, ValidationError):
            return _review_page(services.get_wish(wish_id), 422)
        return redirect(url_for("wishes.vetting_review", wish_id=wish_id))
    flash(success, "success")
    return redirect(url_for("wishes.vetting_queue"))


# --- staff: claims and fulfilment ---------------------------------------------------------------


@bp.get(f"{STAFF}/claims")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def staff_claims():
    return render_template(
        "wishes/staff_claims.html",
        claims=services.claims_to_follow(current_user),
        action_form=ActionForm(),
        now=utcnow(),
    )


def _claim_action(claim_id: int, action, success: str):
    claim = services.get_claim(claim_id)
    if not ActionForm().validate():
        abort(400)
    run_action(lambda: action(claim), success)
    return redirect(url_for("wishes.staff_wish", wish_id=claim.wish_id))


@bp.post(f"{STAFF}/claims/<int:claim_id>/confirm")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def confirm_claim(claim_id: int):
    """The gift reached the child: with a thank-you note and, if the caseworker confirms it shows
    no child's face, a photo for the donor."""
    claim = services.get_claim(claim_id)
    if not ActionForm().validate():
        abort(400)
    upload, photo = request.files.get("photo"), None
    try:
        with transaction():
            if upload and upload.filename:
                photo = save_image(upload.stream)
            services.confirm_fulfilment(
                current_user,
                claim,
                request.form.get("note", ""),
                photo,
                photo_shows_no_child=bool(request.form.get("photo_ok")),
                photo_public=bool(request.form.get("photo_public")),
            )
    except DomainError as exc:
        discard_image(photo)
        flash(" ".join(str(v) for v in exc.fields.values()) or str(exc.message), "error")
    else:
        flash(_("Confirmed: the wish has come true."), "success")
    return redirect(url_for("wishes.staff_wish", wish_id=claim.wish_id))


@bp.post(f"{STAFF}/claims/<int:claim_id>/expire")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def expire_claim(claim_id: int):
    return _claim_action(
        claim_id,
        lambda c: services.expire_claim(c, current_user),
        _("The claim has expired and the wish is open again."),
    )


@bp.get(f"{STAFF}/claims/<int:claim_id>/photo")
@roles_required(Role.CASEWORKER, Role.SUPERVISOR)
def claim_photo(claim_id: int):
    claim = services.get_claim(claim_id)
    services.check_can_manage_child(current_user, claim.wish.child)
    return send_image(claim.delivery_photo)
