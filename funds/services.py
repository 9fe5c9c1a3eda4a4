"""Administering funds, projects and campaigns: creating, editing, closing and importing them;
correcting the ledger with a journal of its own.

Each function checks its input, flushes and leaves an audit row; the caller commits.
"""

import re
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core import audit
from core.errors import Conflict, Forbidden, InvalidTransition, ValidationError
from core.extensions import db
from core.models import Role, User
from core.money import MoneyError, fen_to_yuan_str, is_whole, parse_yuan
from funds import ledger
from funds.models import Campaign, CampaignKind, Fund, Journal, Project, ProjectStatus

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: Above this a goal is surely a typo (ten million yuan).
MAX_GOAL_FEN = 1_000_000_000
#: A bureau publishes a few dozen at once; more than this is a wrong file.
MAX_IMPORT_ROWS = 500
#: The project sheet's columns by the name the import reads them into, as a reader names them:
#: the template, the page and the row errors use these; the sheet may head a column either way.
IMPORT_COLUMN_LABELS = {
    "slug": _l("Short name for the address"),
    "title": _l("Project title"),
    "fund": _l("Fund (short name)"),
    "goal_yuan": _l("Goal (yuan)"),
    "beneficiaries": _l("Beneficiaries (person-times)"),
    "district": _l("District"),
    "summary": _l("Summary"),
}


def _check_slug(slug, model, fields: dict, *, taken: set | None = None) -> str:
    slug = (slug or "").strip()
    if not slug or len(slug) > 60 or not SLUG.match(slug):
        fields["slug"] = _("Use 1 to 60 lowercase letters, digits and single hyphens.")
        return slug
    if (taken is not None and slug in taken) or db.session.scalar(
        select(model.id).where(model.slug == slug)
    ) is not None:
        fields["slug"] = _("This short name is already taken.")
    return slug


def _check_text(value, fields: dict, name: str, *, low: int, high: int) -> str:
    value = (value or "").strip()
    if len(value) < low or len(value) > high:
        fields[name] = _("Write between %(low)d and %(high)d characters.", low=low, high=high)
    return value


def _open_fund(slug) -> Fund | None:
    slug = (slug or "").strip()
    fund = db.session.scalar(select(Fund).where(Fund.slug == slug)) if slug else None
    return fund if fund is not None and fund.active else None


def create_fund(actor: User, slug: str, name: str, description: str = "") -> Fund:
    fields: dict = {}
    slug = _check_slug(slug, Fund, fields)
    name = _check_text(name, fields, "name", low=2, high=100)
    description = _check_text(description, fields, "description", low=0, high=5000)
    if fields:
        raise ValidationError(fields=fields)
    fund = Fund(slug=slug, name=name, description=description, active=True)
    db.session.add(fund)
    db.session.flush()
    audit.record("fund.created", fund, actor, after={"slug": slug, "name": name})
    return fund


def update_fund(actor: User, fund: Fund, name: str, description: str, active: bool) -> Fund:
    """The slug stays as it was: it is printed in QR codes already on posters."""
    fields: dict = {}
    name = _check_text(name, fields, "name", low=2, high=100)
    description = _check_text(description, fields, "description", low=0, high=5000)
    if fields:
        raise ValidationError(fields=fields)
    before = {"name": fund.name, "active": fund.active}
    fund.name, fund.description, fund.active = name, description, bool(active)
    db.session.flush()
    audit.record("fund.updated", fund, actor, before=before, after={"name": name, "active": fund.active})
    return fund


@dataclass
class ProjectInput:
    slug: str
    title: str
    fund: str
    goal_fen: int | None
    beneficiaries: int | None = None
    district: str | None = None
    summary: str = ""


def _check_project(data: ProjectInput, fields: dict, *, taken: set | None = None) -> dict:
    slug = _check_slug(data.slug, Project, fields, taken=taken)
    title = _check_text(data.title, fields, "title", low=2, high=100)
    fund = _open_fund(data.fund)
    if fund is None:
        fields["fund"] = _("No such fund is open.")
    if not is_whole(data.goal_fen) or data.goal_fen <= 0 or data.goal_fen > MAX_GOAL_FEN:
        fields.setdefault("goal_fen", _("The goal must be more than 0 and at most %(n)s yuan.", n=MAX_GOAL_FEN // 100))
    beneficiaries = data.beneficiaries
    if beneficiaries is not None and (not is_whole(beneficiaries) or not 0 <= beneficiaries <= 10_000_000):
        fields["beneficiaries"] = _("Give a whole number.")
    district = (data.district or "").strip() or None
    if district and len(district) > 40:
        fields["district"] = _("Write between %(low)d and %(high)d characters.", low=1, high=40)
    summary = _check_text(data.summary, fields, "summary", low=0, high=5000)
    return {
        "slug": slug,
        "title": title,
        "fund": fund,
        "goal_fen": data.goal_fen,
        "beneficiaries": beneficiaries,
        "district": district,
        "summary": summary,
    }


def _add_project(actor: User, clean: dict, action: str) -> Project:
    fund = clean.pop("fund")
    project = Project(fund_id=fund.id, status=ProjectStatus.OPEN, **clean)
    db.session.add(project)
    db.session.flush()
    audit.record(action, project, actor, after={"slug": project.slug, "fund": fund.slug, "goal_fen": project.goal_fen})
    return project


def create_project(actor: User, data: ProjectInput) -> Project:
    fields: dict = {}
    clean = _check_project(data, fields)
    if fields:
        raise ValidationError(fields=fields)
    return _add_project(actor, clean, "project.created")


def close_project(actor: User, project: Project) -> Project:
    """A closed project takes no more donations; what it raised stays in its fund."""
    if project.status == ProjectStatus.CLOSED:
        raise InvalidTransition(_("This project is already closed."))
    project.status = ProjectStatus.CLOSED
    db.session.flush()
    audit.record("project.closed", project, actor, before={"status": "open"}, after={"status": "closed"})
    return project


def _import_number(value, fields: dict, name: str, *, yuan: bool) -> int | None:
    text_value = str(value if value is not None else "").strip()
    if not text_value:
        if yuan:
            fields[name] = _("Give an amount in yuan, like 120 or 89.50.")
        return None
    try:
        if yuan:
            return parse_yuan(text_value)
        if not text_value.isdigit():
            raise ValueError(text_value)
        return int(text_value)
    except (MoneyError, ValueError):
        fields[name] = _("Give an amount in yuan, like 120 or 89.50.") if yuan else _("Give a whole number.")
        return None


def import_projects(actor: User, rows: list[dict]) -> list[Project]:
    """Every row is checked before any is written: one bad row and nothing is imported.

    Rows are numbered as a spreadsheet shows them, the header being row 1.
    """
    if not rows:
        raise ValidationError(fields={"sheet": _("The sheet has no projects in it.")})
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationError(fields={"sheet": _("At most %(n)d projects can be imported at once.", n=MAX_IMPORT_ROWS)})
    errors: dict = {}
    cleaned: list[dict] = []
    taken: set[str] = set()
    for number, row in enumerate(rows, start=2):
        fields: dict = {}
        goal = _import_number(row.get("goal_yuan"), fields, "goal_yuan", yuan=True)
        beneficiaries = _import_number(row.get("beneficiaries"), fields, "beneficiaries", yuan=False)
        data = ProjectInput(
            slug=row.get("slug") or "",
            title=row.get("title") or "",
            fund=row.get("fund") or "",
            goal_fen=goal,
            beneficiaries=beneficiaries,
            district=row.get("district"),
            summary=row.get("summary") or "",
        )
        clean = _check_project(data, fields, taken=taken)
        if "goal_yuan" in fields:
            fields.pop("goal_fen", None)
        elif "goal_fen" in fields:
            fields["goal_yuan"] = fields.pop("goal_fen")
        taken.add(clean["slug"])
        if fields:
            errors[_("row %(n)d", n=number)] = _("; ").join(
                _("%(label)s: %(text)s", label=IMPORT_COLUMN_LABELS.get(name, name), text=message)
                for name, message in fields.items()
            )
        cleaned.append(clean)
    if errors:
        raise ValidationError(_("Nothing was imported: correct these rows and upload the sheet again."), fields=errors)
    return [_add_project(actor, clean, "project.imported") for clean in cleaned]


@dataclass
class CampaignInput:
    slug: str
    title: str
    fund: str
    kind: str = CampaignKind.GENERAL
    description: str = ""
    project: str | None = None
    presets: list | None = None
    min_fen: int | None = None
    max_fen: int | None = None


def create_campaign(actor: User, data: CampaignInput) -> Campaign:
    fields: dict = {}
    slug = _check_slug(data.slug, Campaign, fields)
    title = _check_text(data.title, fields, "title", low=2, high=100)
    description = _check_text(data.description, fields, "description", low=0, high=5000)
    if data.kind not in {k.value for k in CampaignKind}:
        fields["kind"] = _("Choose a kind of campaign.")
    fund = _open_fund(data.fund)
    if fund is None:
        fields["fund"] = _("No such fund is open.")
    project = None
    if data.project:
        project = db.session.scalar(select(Project).where(Project.slug == data.project.strip()))
        if project is None or project.status != ProjectStatus.OPEN:
            fields["project"] = _("No such project is open.")
        elif fund is not None and project.fund_id != fund.id:
            fields["project"] = _("The project belongs to another fund.")
    ceiling = current_app.config["DONATION_MAX_FEN"]
    low = data.min_fen if data.min_fen is not None else current_app.config["DONATION_MIN_FEN"]
    high = data.max_fen if data.max_fen is not None else ceiling
    if not is_whole(low) or low <= 0:
        fields["min_fen"] = _("The smallest amount must be more than 0.")
    elif not is_whole(high) or high < low or high > ceiling:
        fields["max_fen"] = _(
            "The largest amount must be at least the smallest and at most %(n)s yuan.", n=ceiling // 100
        )
    presets = data.presets or []
    if len(presets) > 8 or not all(is_whole(p) for p in presets):
        fields["presets"] = _("Give at most 8 preset amounts.")
    elif not fields.keys() & {"min_fen", "max_fen"} and any(p < low or p > high for p in presets):
        fields["presets"] = _("Every preset must lie between the smallest and the largest amount.")
    if fields:
        raise ValidationError(fields=fields)
    campaign = Campaign(
        slug=slug,
        title=title,
        description=description,
        kind=data.kind,
        fund_id=fund.id,
        project_id=project.id if project else None,
        presets=sorted(set(presets)),
        min_fen=low,
        max_fen=high,
        active=True,
    )
    db.session.add(campaign)
    db.session.flush()
    audit.record("campaign.created", campaign, actor, after={"slug": slug, "kind": data.kind, "fund": fund.slug})
    return campaign


# --- correcting journals -------------------------------------------------------------------------

#: Accounts whose money a correction brings in line with an outside record (Stripe, the bank, the till).
CORRECTABLE_ASSETS = ("asset:stripe", "asset:bank", "asset:cash")
#: What the other side of a correction may be: the account the difference belongs to.
CORRECTION_COUNTERS = (
    "income:donations",
    "income:refunds",
    "income:disputes",
    "expense:fees",
    "expense:disbursements",
    "asset:stripe",
    "asset:bank",
    "asset:cash",
)
#: Above this a correction is surely a typo (one million yuan).
MAX_CORRECTION_FEN = 100_000_000


def _lock_fund(fund_id: int) -> None:
    db.session.execute(select(Fund.id).where(Fund.id == fund_id).with_for_update())


def post_correcting_journal(
    actor: User,
    fund: Fund | None,
    asset: str,
    counter: str,
    amount_fen,
    memo: str,
    source: str,
) -> Journal:
    """Correct the ledger with a new balanced journal: `amount_fen` into `asset` (negative: out of
    it), the same the other way on `counter`. Nothing posted is ever edited.

    Once per source (the journal's key is `correction:<source>`; a second post is refused, not
    doubled). It names no donation: a donation's journals say what the donation itself did. A fund never goes below zero:
    the fund's row is locked (`SELECT … FOR UPDATE` on PostgreSQL; SQLite writers queue for the
    write lock) before its balance is read, as a disbursement does.
    """
    if not isinstance(actor, User) or not actor.has_role(Role.FUND_ADMIN):
        raise Forbidden(_("Only a fund administrator may correct the ledger."))
    fields: dict = {}
    if fund is None:
        fields["fund"] = _("Choose the fund the correction belongs to.")
    if asset not in CORRECTABLE_ASSETS:
        fields["asset"] = _("Choose the account to correct.")
    if counter not in CORRECTION_COUNTERS or counter == asset:
        fields["counter"] = _("Choose the other account, not the one corrected.")
    if not is_whole(amount_fen) or amount_fen == 0 or abs(amount_fen) > MAX_CORRECTION_FEN:
        fields["amount"] = _(
            "The amount must be more than 0 and at most %(n)s yuan.", n=f"{MAX_CORRECTION_FEN // 100:,}"
        )
    memo = (memo or "").strip()
    if not memo:
        fields["note"] = _("Say what the correction is for.")
    if fields:
        raise ValidationError(fields=fields)
    _lock_fund(fund.id)
    # Read after the lock: whatever another payment took is gone from this balance.
    balance = ledger.balance_of(fund.id)
    change = amount_fen + (-amount_fen if counter.startswith("asset:") else 0)
    if balance + change < 0:
        raise ValidationError(
            fields={
                "amount": _(
                    "The fund holds %(have)s yuan: taking %(want)s yuan would leave it below zero.",
                    have=fen_to_yuan_str(balance),
                    want=fen_to_yuan_str(-change),
                )
            }
        )
    journal, new = ledger.post(
        ledger.CORRECTION + source, fund.id, [(asset, amount_fen), (counter, -amount_fen)], memo, actor
    )
    if not new:
        raise Conflict(_("This correction was posted already."))
    audit.record(
        "ledger.correction_posted",
        journal,
        actor,
        after={"fund": fund.slug, "asset": asset, "counter": counter, "amount_fen": amount_fen},
        note=memo,
    )
    return journal
