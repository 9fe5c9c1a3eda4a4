"""Importing a bank statement and reconciling its new lines with the ledger.

A statement is read whole (reconcile.bankfiles) before anything is written. Its lines are
kept once by their fingerprint, so importing the same statement again, or one that overlaps
it, adds only the lines not seen before; a run then compares those lines with what the
ledger says passed through the bank account and was not settled by an earlier line:
offline donations (by the reference on the poster, receipt or transfer instruction, their
receipt number), Stripe payouts and disbursements (reconcile.bankmatch). The caller commits.
"""

import hashlib
from collections import defaultdict
from datetime import UTC, date

from flask_babel import gettext as _
from sqlalchemy import select

from core import audit, bulk
from core.clock import zone
from core.database import insert_for
from core.errors import Conflict, Forbidden, ValidationError
from core.extensions import db
from core.models import Role, User
from core.text import clean_display_name
from funds.models import Account, Donation, DonationStatus, Entry, Journal
from reconcile import bankfiles, bankmatch
from reconcile.models import (
    BankLine,
    BankMatch,
    BankStatement,
    ItemKind,
    ItemLayer,
    ItemStatus,
    ReconcileItem,
    ReconcileRun,
    RunSource,
    RunStatus,
)
from reconcile.services import close_item, corrected_items

CHUNK = 1000
BANK_CHANNELS = ("bank_transfer", "cheque")
PAID = (
    DonationStatus.SUCCEEDED,
    DonationStatus.PARTIALLY_REFUNDED,
    DonationStatus.REFUNDED,
    DonationStatus.DISPUTED,
)


def check_fund_admin(actor: User) -> None:
    if not isinstance(actor, User) or not actor.has_role(Role.FUND_ADMIN):
        raise Forbidden(_("Only a fund administrator may reconcile."))


def plan(data: bytes) -> tuple[bankfiles.Sheet, bankfiles.Layout | None]:
    """The statement's header and rows, and the known layout it is in (None: a person maps it)."""
    sheet = bankfiles.read_sheet(data)
    return sheet, bankfiles.detect_layout(sheet.header)


def _chunks(values: list) -> list[list]:
    return [values[start : start + CHUNK] for start in range(0, len(values), CHUNK)]


def _known(prints: list[str]) -> set[str]:
    # The table's column, not the mapped attribute: a plain SELECT, without the ORM's work per row.
    column = BankLine.__table__.c.fingerprint
    found: set[str] = set()
    for chunk in _chunks(prints):
        found.update(db.session.execute(select(column).where(column.in_(chunk))).scalars())
    return found


def _local_day(moment, tz) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).date()


def ledger_entries(since: date, until: date) -> list[bankmatch.Entry]:
    """What the ledger says passed through the bank account and no bank line settled yet."""
    settled = set(db.session.scalars(select(BankMatch.entry_key).distinct()))
    entries: list[bankmatch.Entry] = []
    rows = db.session.execute(
        select(
            Donation.id,
            Donation.public_id,
            Donation.amount_fen,
            Donation.reference,
            Donation.receipt_no,
            Donation.succeeded_at,
        ).where(
            Donation.channel.in_(BANK_CHANNELS),
            Donation.status.in_([s.value for s in PAID]),
            Donation.simulated.is_(False),
        )
    )
    tz = zone()
    for donation_id, public_id, amount, reference, receipt_no, succeeded_at in rows:
        key = f"donation:{donation_id}"
        if key in settled or succeeded_at is None:
            continue
        on = _local_day(succeeded_at, tz)
        codes = tuple(code for code in (reference, receipt_no, public_id) if code)
        entries.append(bankmatch.Entry(key, amount, on, codes, public_id, since <= on <= until))
    moved = db.session.execute(
        select(Journal.source_key, Journal.posted_on, Entry.amount_fen)
        .join(Entry, Entry.journal_id == Journal.id)
        .join(Account, Entry.account_id == Account.id)
        .where(
            Account.code == "asset:bank",
            Journal.source_key.like("stripe:payout:%") | Journal.source_key.like("disbursement:%"),
        )
    )
    totals: dict[str, list] = defaultdict(lambda: [0, None])
    for source_key, posted_on, amount in moved:
        # A payout is one entry however many funds had a share in it.
        key = "payout:" + source_key.split(":")[2] if source_key.startswith("stripe:payout:") else source_key
        totals[key][0] += amount
        totals[key][1] = posted_on
    for key, (amount, on) in totals.items():
        if key in settled or not amount:
            continue
        codes = (key.split(":", 1)[1],) if key.startswith("payout:") else ()
        entries.append(bankmatch.Entry(key, amount, on, codes, None, since <= on <= until))
    return entries


@bulk.collector_paused()
def import_statement(
    actor: User, filename: str, data: bytes, mapping: dict[str, int] | None = None
) -> tuple[BankStatement, ReconcileRun | None]:
    """Keep the statement's new lines and reconcile them; (statement, None) when nothing was new."""
    check_fund_admin(actor)
    sheet, layout = plan(data)
    if mapping is None:
        if layout is None:
            raise ValidationError(fields={"mapping": _("This bank's layout is not known: say which column is which.")})
        mapping = bankfiles.mapping_for(layout, sheet.header)
    lines = bankfiles.read_lines(sheet, mapping)
    prints = bankfiles.fingerprints(lines)
    known = _known(prints)
    new = [(line, fingerprint) for line, fingerprint in zip(lines, prints, strict=True) if fingerprint not in known]
    statement = BankStatement(
        filename=(clean_display_name(filename) or "statement")[:200],
        digest=hashlib.sha256(data).hexdigest(),
        layout=layout.key if layout and mapping == bankfiles.mapping_for(layout, sheet.header) else "mapped",
        lines_read=len(lines),
        lines_new=len(new),
        first_day=min(line.booked_on for line in lines),
        last_day=max(line.booked_on for line in lines),
        imported_by_id=actor.id,
    )
    db.session.add(statement)
    db.session.flush()
    audit.record(
        "bank_statement.imported",
        statement,
        actor,
        after={"lines": len(lines), "new": len(new), "layout": statement.layout},
    )
    if not new:
        return statement, None
    for chunk in _chunks(new):
        db.session.execute(
            insert_for(db.session)(BankLine.__table__).on_conflict_do_nothing(index_elements=["fingerprint"]),
            [
                {
                    "statement_id": statement.id,
                    "fingerprint": fingerprint,
                    "row": line.row,
                    "booked_on": line.booked_on,
                    "amount_fen": line.amount_fen,
                    "counterparty": line.counterparty,
                    "reference": line.reference,
                    "serial": line.serial,
                    "balance_fen": line.balance_fen,
                }
                for line, fingerprint in chunk
            ],
        )
    stored = db.session.execute(
        select(
            BankLine.id,
            BankLine.booked_on,
            BankLine.amount_fen,
            BankLine.counterparty,
            BankLine.reference,
            BankLine.serial,
            BankLine.row,
        ).where(BankLine.statement_id == statement.id)
    ).all()
    since = min(row.booked_on for row in stored)
    until = max(row.booked_on for row in stored)
    run = ReconcileRun(
        source=RunSource.BANK,
        since=since,
        until=until,
        status=RunStatus.OPEN,
        started_by_id=actor.id,
        actor_label=f"user:{actor.id}",
        rows=len(stored),
        statement_id=statement.id,
    )
    db.session.add(run)
    db.session.flush()
    bank_lines = [
        bankmatch.BankLine(
            id=row.id,
            booked_on=row.booked_on,
            amount_fen=row.amount_fen,
            text=f"{row.counterparty} {row.reference} {row.serial}",
            reference=row.serial or _("row %(n)d of %(file)s", n=row.row, file=statement.filename)[:255],
        )
        for row in stored
    ]
    line_by_reference = {line.reference: line.id for line in bank_lines}
    result = bankmatch.match_bank(bank_lines, ledger_entries(since, until))
    run.matched = result.matched
    if result.links:
        db.session.execute(
            insert_for(db.session)(BankMatch).on_conflict_do_nothing(index_elements=["line_id", "entry_key"]),
            [{"line_id": line_id, "entry_key": key, "run_id": run.id} for line_id, key in result.links],
        )
    public_ids = {item.donation for item in result.items if item.donation}
    donation_ids = (
        dict(
            db.session.execute(select(Donation.public_id, Donation.id).where(Donation.public_id.in_(public_ids))).all()
        )
        if public_ids
        else {}
    )
    suggested_for = result.suggestions
    # A difference answered by a correcting journal before is not reported again (reconcile.services).
    corrected = corrected_items()
    items = [
        {
            "run_id": run.id,
            "kind": item.kind.value,
            "reference": item.reference[:255],
            "amount_fen": item.amount_fen,
            "difference_fen": item.difference_fen,
            "donation_id": donation_ids.get(item.donation) if item.donation else None,
            "bank_line_id": line_by_reference.get(item.reference),
            "entry_key": (
                suggested_for.get(line_by_reference.get(item.reference))
                if item.kind == ItemKind.SUGGESTED
                else (item.reference if item.kind == ItemKind.MISSING_THERE else None)
            ),
            "status": ItemStatus.OPEN.value,
            "layer": ItemLayer.BANK.value,
        }
        for item in result.items
        if (ItemLayer.BANK.value, item.kind.value, item.reference[:255], item.difference_fen) not in corrected
    ]
    # A statement of a year's lines can leave thousands of items: one INSERT, not thousands of objects.
    for chunk in _chunks(items):
        db.session.execute(ReconcileItem.__table__.insert(), chunk)
    db.session.flush()
    audit.record(
        "reconcile.run",
        run,
        actor,
        after={"source": "bank", "rows": run.rows, "matched": run.matched, "items": len(result.items)},
    )
    return statement, run


def accept_suggestion(item: ReconcileItem, actor: User, note: str | None = None) -> ReconcileItem:
    """A person confirms what amount and date suggested: the line settles the entry."""
    check_fund_admin(actor)
    if item.kind != ItemKind.SUGGESTED or not item.entry_key or item.bank_line_id is None:
        raise Conflict(_("Only a suggestion can be accepted."))
    _check_open(item)
    db.session.execute(
        insert_for(db.session)(BankMatch).on_conflict_do_nothing(index_elements=["line_id", "entry_key"]),
        [{"line_id": item.bank_line_id, "entry_key": item.entry_key, "run_id": item.run_id, "matched_by_id": actor.id}],
    )
    close_item(item, actor, ItemStatus.RESOLVED, (note or "").strip() or _("Suggestion accepted."), "accepted")
    return item


def ignore_item(item: ReconcileItem, actor: User, reason: str) -> ReconcileItem:
    """Not ours (a transfer between own accounts, a bank's fee…): kept, with the reason."""
    check_fund_admin(actor)
    reason = (reason or "").strip()
    if not reason or len(reason) > 1000:
        raise ValidationError(fields={"note": _("Say why this is not ours, in at most 1000 characters.")})
    _check_open(item)
    close_item(item, actor, ItemStatus.IGNORED, reason, "ignored")
    return item


def _check_open(item: ReconcileItem) -> None:
    if item.run.status == RunStatus.CLOSED:
        raise Conflict(_("This reconciliation is closed."))
    if item.status != ItemStatus.OPEN:
        raise Conflict(_("This item was resolved already."))
