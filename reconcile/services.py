"""Reconciliation runs: read Stripe's balance for a period, post its fees and payouts, compare, keep the items.

A run reads every balance transaction of the period through the one Stripe door
(payments.balance), posts each processor fee once (keyed by the balance transaction), moves
each payout's money from the Stripe balance to the bank account fund by fund, compares the
rest with the ledger (reconcile.matching) and stores what differs as open items. Nothing is
adjusted by itself. The caller commits.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from core import audit, bulk
from core.audit import Actor
from core.clock import utcnow, zone
from core.errors import Conflict, Forbidden, NotFound, ValidationError
from core.extensions import db
from core.models import Role, User
from funds import processor
from funds.models import ONLINE_CHANNELS, Account, Donation, DonationStatus, Entry, Journal
from payments import balance
from reconcile import matching
from reconcile.models import ItemStatus, ReconcileItem, ReconcileRun, RunSource, RunStatus

PAID = (
    DonationStatus.SUCCEEDED,
    DonationStatus.PARTIALLY_REFUNDED,
    DonationStatus.REFUNDED,
    DonationStatus.DISPUTED,
)

#: How many keys one IN (…) names.
CHUNK = 1000


def _start_of(day: date) -> datetime:
    """The local day's first moment, in UTC."""
    return datetime.combine(day, time.min, tzinfo=zone()).astimezone(UTC)


def check_period(since: date | None, until: date | None) -> None:
    if since and until and until < since:
        raise ValidationError(fields={"until": _("The period ends before it starts.")})


def ledger_donations(since: date | None, until: date | None) -> list[matching.LedgerDonation]:
    """Every donation paid online (not in the simulator), with the refunds and disputes posted in the period.

    Whether a donation succeeded in the period is asked of the database with the rest, so
    that 100,000 donations come back as plain values and no time is read into Python."""
    start = _start_of(since) if since else None
    end = _start_of(until + timedelta(days=1)) if until else None
    in_period = Donation.succeeded_at.is_not(None)
    if start is not None:
        in_period = in_period & (Donation.succeeded_at >= start)
    if end is not None:
        in_period = in_period & (Donation.succeeded_at < end)
    back = _posted_back(since, until)
    refunded, disputed = back["income:refunds"], back["income:disputes"]
    rows = db.session.execute(
        select(
            Donation.id,
            Donation.public_id,
            Donation.fund_id,
            Donation.amount_fen,
            Donation.payment_intent_id,
            Donation.charge_id,
            in_period,
        ).where(
            Donation.channel.in_([c.value for c in ONLINE_CHANNELS]),
            Donation.simulated.is_(False),
            Donation.status.in_([s.value for s in PAID]),
        )
    )
    return [
        matching.LedgerDonation(
            id=donation_id,
            public_id=public_id,
            fund_id=fund_id,
            amount_fen=amount,
            payment_intent_id=intent,
            charge_id=charge,
            in_period=bool(within),
            refunded_fen=refunded.get(donation_id, 0),
            disputed_fen=disputed.get(donation_id, 0),
        )
        for donation_id, public_id, fund_id, amount, intent, charge, within in rows
    ]


def _posted_back(since: date | None, until: date | None) -> dict[str, dict[int, int]]:
    """Refunds and disputes posted in the period, per donation (disputes won taken off)."""
    query = (
        select(Account.code, Journal.donation_id, Entry.amount_fen)
        .join(Entry, Entry.journal_id == Journal.id)
        .join(Account, Entry.account_id == Account.id)
        .where(Account.code.in_(("income:refunds", "income:disputes")), Journal.donation_id.is_not(None))
    )
    if since:
        query = query.where(Journal.posted_on >= since)
    if until:
        query = query.where(Journal.posted_on <= until)
    totals: dict[str, dict[int, int]] = {"income:refunds": defaultdict(int), "income:disputes": defaultdict(int)}
    for code, donation_id, amount in db.session.execute(query):
        totals[code][donation_id] += amount
    return totals


def posted_fees(txn_ids: list[str]) -> dict[str, int]:
    """The fees already posted for these balance transactions, by their id.

    Read from the journals' source keys to their entries, and the fee account picked out here:
    joined to the accounts table, SQLite (which keeps no statistics) would walk every fee entry
    ever posted for each chunk of keys, which grows with the square of a period's rows."""
    found: dict[str, int] = {}
    fee_account = db.session.scalar(select(Account.id).where(Account.code == "expense:fees"))
    if fee_account is None:
        return found
    keys = {processor.fee_key(txn_id): txn_id for txn_id in txn_ids}
    key_list = list(keys)
    for start in range(0, len(key_list), CHUNK):
        chunk = key_list[start : start + CHUNK]
        for key, account_id, amount in db.session.execute(
            select(Journal.source_key, Entry.account_id, Entry.amount_fen)
            .join(Entry, Entry.journal_id == Journal.id)
            .where(Journal.source_key.in_(chunk))
        ):
            if account_id == fee_account:
                found[keys[key]] = found.get(keys[key], 0) + amount
    return found


def _payout_shares(payout: balance.BalanceRow, find) -> dict[int, int] | None:
    """How much of a payout each fund's money made up, from the balance transactions Stripe lists for
    the payout; None when some of the money is not any fund's (then nothing is moved)."""
    shares: dict[int, int] = defaultdict(int)
    for row in balance.fetch(payout=payout.source_id):
        if row.category == balance.PAYOUT:
            continue
        donation = find(row)
        if donation is None:
            return None
        shares[donation.fund_id] += row.net_fen
    if sum(shares.values()) != -payout.amount_fen or not shares:
        return None
    return shares


@bulk.collector_paused()
def run_stripe(
    actor: Actor,
    since: date | None = None,
    until: date | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> ReconcileRun:
    """Reconcile Stripe's balance transactions of [since, until] (local days, both included) with the ledger."""
    check_period(since, until)
    rows = list(
        balance.fetch(
            since=_start_of(since) if since else None,
            until=_start_of(until + timedelta(days=1)) if until else None,
            progress=progress,
        )
    )
    return compare_stripe(actor, rows, since, until)


@bulk.collector_paused()
def run_stripe_report(actor: User, data: bytes) -> ReconcileRun:
    """Reconcile the rows of Stripe's itemised balance change report (CSV), over the days it covers."""
    if not isinstance(actor, User) or not actor.has_role(Role.FUND_ADMIN):
        raise Forbidden(_("Only a fund administrator may reconcile."))
    try:
        rows = balance.parse_report(data)
    except balance.BadReport as exc:
        raise ValidationError(fields={"report": _("Not a report Stripe made: %(why)s.", why=str(exc))}) from None
    if not rows:
        raise ValidationError(fields={"report": _("The report holds no rows.")})
    days = [row.created.astimezone(zone()).date() for row in rows]
    return compare_stripe(actor, rows, min(days), max(days), fetch_payouts=False)


@bulk.collector_paused()
def compare_stripe(
    actor: Actor, rows: list, since: date | None, until: date | None, *, fetch_payouts: bool = True
) -> ReconcileRun:
    """Post the rows' fees and payouts once, compare them with the ledger and keep the differences."""
    donations = ledger_donations(since, until)
    result = matching.match(donations, rows, posted_fees([row.id for row in rows]))
    run = ReconcileRun(
        source=RunSource.STRIPE,
        since=since,
        until=until,
        status=RunStatus.OPEN,
        started_by_id=actor.id if isinstance(actor, User) else None,
        actor_label=f"user:{actor.id}" if isinstance(actor, User) else actor,
        rows=len({row.id for row in rows}),
        matched=result.matched,
    )
    db.session.add(run)
    db.session.flush()
    processor.post_fees(
        [(fee.donation.fund_id, fee.donation.id, fee.row.fee_fen, fee.row.id) for fee in result.fees], actor
    )
    run.fees_posted = len(result.fees)
    run.fees_fen = sum(fee.row.fee_fen for fee in result.fees)
    find = matching.finder(donations)
    for row in rows:
        if fetch_payouts and row.category == balance.PAYOUT and row.source_id and row.amount_fen < 0:
            shares = _payout_shares(row, find)
            for fund_id, amount in sorted((shares or {}).items()):
                if processor.post_payout(row.source_id, fund_id, amount, actor):
                    run.payouts_posted += 1
    ids = {donation.public_id: donation.id for donation in donations}
    db.session.add_all(
        ReconcileItem(
            run_id=run.id,
            kind=item.kind,
            reference=item.reference[:255],
            amount_fen=item.amount_fen,
            difference_fen=item.difference_fen,
            donation_id=ids.get(item.donation) if item.donation else None,
        )
        for item in result.items
    )
    db.session.flush()
    audit.record(
        "reconcile.run",
        run,
        actor,
        after={
            "source": run.source,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "rows": run.rows,
            "matched": run.matched,
            "items": len(result.items),
            "fees_posted": run.fees_posted,
            "fees_fen": run.fees_fen,
        },
    )
    return run


def open_items(run: ReconcileRun) -> list[ReconcileItem]:
    return [item for item in run.items if item.status == ItemStatus.OPEN]


def open_item_count() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(ReconcileItem)
        .join(ReconcileRun, ReconcileItem.run_id == ReconcileRun.id)
        .where(ReconcileItem.status == ItemStatus.OPEN, ReconcileRun.status == RunStatus.OPEN)
    )


def last_closed_at():
    return db.session.scalar(select(func.max(ReconcileRun.closed_at)).where(ReconcileRun.status == RunStatus.CLOSED))


def summary(run: ReconcileRun) -> dict:
    """The run as the command's `--json` prints it (DESIGN.md §5)."""
    return {
        "run": run.id,
        "matched": run.matched,
        "items": [
            {
                "kind": item.kind,
                "reference": item.reference,
                "amount_fen": item.amount_fen,
                "difference_fen": item.difference_fen,
                "donation": item.donation.public_id if item.donation else None,
            }
            for item in open_items(run)
        ],
    }


def get_run(run_id: int) -> ReconcileRun:
    run = db.session.get(ReconcileRun, run_id)
    if run is None:
        raise NotFound()
    return run


def get_item(item_id: int) -> ReconcileItem:
    item = db.session.get(ReconcileItem, item_id)
    if item is None:
        raise NotFound()
    return item


def resolve_item(item: ReconcileItem, actor: User, note: str) -> ReconcileItem:
    """Close an item with a person's note; the ledger is corrected, if at all, by its own services."""
    note = (note or "").strip()
    if not note:
        raise ValidationError(fields={"note": _("Say how this was resolved.")})
    if len(note) > 1000:
        raise ValidationError(fields={"note": _("The note may be at most 1000 characters.")})
    if item.run.status == RunStatus.CLOSED:
        raise Conflict(_("This reconciliation is closed."))
    if item.status != ItemStatus.OPEN:
        raise Conflict(_("This item was resolved already."))
    item.status = ItemStatus.RESOLVED
    item.note = note
    item.resolved_by_id = actor.id
    item.resolved_at = utcnow()
    audit.record(
        "reconcile.item_resolved",
        item,
        actor,
        before={"status": ItemStatus.OPEN},
        after={"status": item.status},
        note=note,
    )
    db.session.flush()
    return item


def close_run(run: ReconcileRun, actor: User) -> ReconcileRun:
    """A run with nothing open is closed: read-only from then on."""
    if run.status == RunStatus.CLOSED:
        raise Conflict(_("This reconciliation is closed."))
    if open_items(run):
        raise Conflict(_("Resolve every open item before closing."))
    run.status = RunStatus.CLOSED
    run.closed_at = utcnow()
    run.closed_by_id = actor.id
    audit.record(
        "reconcile.closed",
        run,
        actor,
        after={"matched": run.matched, "items": len(run.items), "fees_fen": run.fees_fen},
    )
    db.session.flush()
    return run
