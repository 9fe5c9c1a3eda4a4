"""Reconciliation runs: read Stripe's balance for a period, post its fees and payouts, compare, keep the items.

A run first reads everything it needs from Stripe through the one door (payments.balance):
every balance transaction of the period, then each payout's own rows. Only then does it
write: each processor fee posted once (keyed by the balance transaction), the donations
compared with the charges (layer one, reconcile.matching), each payout compared with its
rows and, when they all belong to funds and add up, its money moved from the Stripe balance
to the bank account fund by fund (layer two, reconcile.payouts), and what differs kept as
open items with their layer. Nothing is adjusted by itself. The caller commits.

From the web a run is started as `running` and carried out by a worker thread
(reconcile.worker), which commits its progress page by page; the command runs it at once.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core import audit, bulk
from core.audit import Actor
from core.clock import utcnow, zone
from core.errors import Conflict, Forbidden, NotFound, ValidationError
from core.extensions import db
from core.models import Role, User
from funds import processor
from funds.models import ONLINE_CHANNELS, Account, Donation, DonationStatus, Entry, Journal
from payments import balance, gateway
from reconcile import matching, payouts
from reconcile.models import ItemLayer, ItemStatus, ReconcileItem, ReconcileRun, RunSource, RunStatus

PAID = (
    DonationStatus.SUCCEEDED,
    DonationStatus.PARTIALLY_REFUNDED,
    DonationStatus.REFUNDED,
    DonationStatus.DISPUTED,
)

#: How many keys one IN (…) names.
CHUNK = 1000
#: Who the audit log names for what happens to a run in the background.
WORKER = "reconcile:worker"


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


def fetch_stripe(
    since: date | None, until: date | None, progress: Callable[[int], None] | None = None
) -> tuple[list[balance.BalanceRow], list[payouts.Payout]]:
    """Everything a run reads from Stripe, before anything is written: the period's balance
    transactions, then each payout's own rows. `progress` hears how many rows each page brought."""
    rows = list(
        balance.fetch(
            since=_start_of(since) if since else None,
            until=_start_of(until + timedelta(days=1)) if until else None,
            progress=progress,
        )
    )
    listed: list[payouts.Payout] = []
    seen: set[str] = set()
    for row in rows:
        if row.category == balance.PAYOUT and row.source_id and row.amount_fen < 0 and row.source_id not in seen:
            seen.add(row.source_id)
            listed.append(payouts.Payout(row, tuple(balance.fetch(payout=row.source_id, progress=progress))))
    return rows, listed


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
    rows, listed = fetch_stripe(since, until, progress)
    return compare_stripe(actor, rows, since, until, payouts_listed=listed)


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
    return compare_stripe(actor, rows, min(days), max(days))


def _linked_charges() -> dict[int, str]:
    """Stripe payments an administrator linked to a donation (reconcile.actions.link_donation), by
    donation: the next run finds the donation through them as through its own ids."""
    return dict(
        db.session.execute(
            select(ReconcileItem.linked_donation_id, ReconcileItem.external_ref).where(
                ReconcileItem.linked_donation_id.is_not(None),
                ReconcileItem.external_ref.is_not(None),
                ReconcileItem.bank_line_id.is_(None),
            )
        ).all()
    )


@bulk.collector_paused()
def compare_stripe(
    actor: Actor,
    rows: list,
    since: date | None,
    until: date | None,
    *,
    payouts_listed: list[payouts.Payout] | None = None,
    run: ReconcileRun | None = None,
) -> ReconcileRun:
    """Post the rows' fees and payouts once, compare them with the ledger and keep the differences.

    Layer one (donation ↔ charge) always; layer two (charge ↔ payout) when the payouts' own rows
    were listed (`payouts_listed`; Stripe's report cannot list them). `run` is a run started in
    the background: it is filled in and opened.
    """
    donations = ledger_donations(since, until)
    linked = _linked_charges()
    if linked:
        donations = [replace(d, charge_id=linked[d.id]) if d.id in linked and not d.charge_id else d for d in donations]
    result = matching.match(donations, rows, posted_fees([row.id for row in rows]))
    if run is None:
        run = ReconcileRun(
            source=RunSource.STRIPE,
            since=since,
            until=until,
            started_by_id=actor.id if isinstance(actor, User) else None,
            actor_label=f"user:{actor.id}" if isinstance(actor, User) else actor,
        )
        db.session.add(run)
    run.status = RunStatus.OPEN
    run.rows = len({row.id for row in rows})
    run.matched = result.matched
    run.finished_at = utcnow()
    db.session.flush()
    processor.post_fees(
        [(fee.donation.fund_id, fee.donation.id, fee.row.fee_fen, fee.row.id) for fee in result.fees], actor
    )
    run.fees_posted = len(result.fees)
    run.fees_fen = sum(fee.row.fee_fen for fee in result.fees)
    find = matching.finder(donations)
    found = [(ItemLayer.DONATION_CHARGE, item) for item in result.items]
    row_of = {row.id: row for row in rows}
    if payouts_listed is not None:
        reported = {item.reference for item in result.items if item.kind == matching.Kind.MISSING_HERE}
        second = payouts.match_payouts(payouts_listed, find, reported)
        run.matched += second.matched
        for payout_id, shares in sorted(second.shares.items()):
            for fund_id, amount in shares.items():
                if processor.post_payout(payout_id, fund_id, amount, actor):
                    run.payouts_posted += 1
        found.extend((ItemLayer.CHARGE_PAYOUT, item) for item in second.items)
        row_of.update(second.rows)
    corrected = corrected_items()
    found = [(layer, item) for layer, item in found if _signature(layer, item) not in corrected]
    ids = {donation.public_id: donation.id for donation in donations}
    db.session.add_all(
        ReconcileItem(
            run_id=run.id,
            kind=item.kind,
            layer=layer,
            reference=item.reference[:255],
            external_ref=_charge_of(row_of.get(item.reference)),
            amount_fen=item.amount_fen,
            difference_fen=item.difference_fen,
            donation_id=ids.get(item.donation) if item.donation else None,
        )
        for layer, item in found
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
            "items": len(found),
            "fees_posted": run.fees_posted,
            "fees_fen": run.fees_fen,
            "payouts_posted": run.payouts_posted,
        },
    )
    return run


def _signature(layer: str, item: matching.Item) -> tuple:
    return (str(layer), str(item.kind), item.reference[:255], item.difference_fen)


def corrected_items() -> set[tuple]:
    """Differences an administrator answered with a correcting journal (reconcile.actions): a later
    run that finds the same difference on the same row does not report it again."""
    return {
        (layer, kind, reference, difference)
        for layer, kind, reference, difference in db.session.execute(
            select(
                ReconcileItem.layer, ReconcileItem.kind, ReconcileItem.reference, ReconcileItem.difference_fen
            ).where(ReconcileItem.journal_id.is_not(None))
        )
    }


def _charge_of(row: balance.BalanceRow | None) -> str | None:
    """The Stripe payment a row names, for a row that names no donation here."""
    if row is None:
        return None
    return (row.charge_id or row.payment_intent_id or row.source_id or "")[:255] or None


# --- runs in the background ---------------------------------------------------------------------


def stale_after() -> timedelta:
    """A running run whose heartbeat is older than this lost the process carrying it out."""
    return timedelta(seconds=current_app.config.get("RECONCILE_STALE_SECONDS", 300))


def is_stale(run: ReconcileRun, now: datetime | None = None) -> bool:
    if run.status != RunStatus.RUNNING:
        return False
    return (now or utcnow()) - _aware(run.heartbeat_at or run.started_at) > stale_after()


def shown_status(run: ReconcileRun) -> str:
    """The run's status as a person should see it: a running run that stopped beating has failed."""
    return RunStatus.FAILED if is_stale(run) else run.status


def _fail_stale_runs() -> None:
    for run in db.session.scalars(
        select(ReconcileRun).where(ReconcileRun.status == RunStatus.RUNNING).with_for_update()
    ):
        if is_stale(run):
            # It ended, as far as anyone knows, at its last heartbeat.
            _mark_failed(
                run, _("The process carrying out the run stopped before it ended."), run.heartbeat_at or run.started_at
            )


def _mark_failed(run: ReconcileRun, reason: str, at: datetime | None = None) -> None:
    run.status = RunStatus.FAILED
    run.failure = reason[:1000]
    run.finished_at = at or utcnow()
    audit.record("reconcile.failed", run, WORKER, after={"failure": run.failure})
    db.session.flush()


def start_stripe_run(actor: User, since: date | None = None, until: date | None = None) -> ReconcileRun:
    """A Stripe run for the web: created as running, carried out by a worker (reconcile.worker).

    One Stripe run at a time: a second start is refused while one runs; a unique index on the
    running run decides two starts at the same moment (the loser is refused the same way). A
    running run whose process died (stale heartbeat) is marked failed first.
    """
    if not isinstance(actor, User) or not actor.has_role(Role.FUND_ADMIN):
        raise Forbidden(_("Only a fund administrator may reconcile."))
    check_period(since, until)
    if not gateway.enabled():
        raise gateway.PaymentsOff(_("Stripe is not configured on this site."))
    _fail_stale_runs()
    if db.session.scalar(
        select(ReconcileRun.id).where(ReconcileRun.source == RunSource.STRIPE, ReconcileRun.status == RunStatus.RUNNING)
    ):
        raise Conflict(_("A reconciliation with Stripe is running already: wait until it ends."))
    now = utcnow()
    run = ReconcileRun(
        source=RunSource.STRIPE,
        since=since,
        until=until,
        status=RunStatus.RUNNING,
        started_by_id=actor.id,
        actor_label=f"user:{actor.id}",
        started_at=now,
        heartbeat_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(run)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("A reconciliation with Stripe is running already: wait until it ends.")) from None
    audit.record(
        "reconcile.started",
        run,
        actor,
        after={"since": since.isoformat() if since else None, "until": until.isoformat() if until else None},
    )
    return run


def running_run(run_id: int) -> ReconcileRun | None:
    """The run, if it is still running (not failed as stale, nor finished by another hand)."""
    run = db.session.get(ReconcileRun, run_id)
    return run if run is not None and run.status == RunStatus.RUNNING else None


def record_progress(run_id: int, pages: int, rows: int) -> bool:
    """Count a page read from Stripe and move the heartbeat; False when the run is no longer running."""
    done = db.session.execute(
        update(ReconcileRun)
        .where(ReconcileRun.id == run_id, ReconcileRun.status == RunStatus.RUNNING)
        .values(pages=ReconcileRun.pages + pages, fetched=ReconcileRun.fetched + rows, heartbeat_at=utcnow())
    )
    return bool(done.rowcount)


def finish_stripe_run(run_id: int, rows: list, listed: list[payouts.Payout]) -> ReconcileRun | None:
    """Compare what the worker read and open the run; None when it is no longer running."""
    run = db.session.scalar(
        select(ReconcileRun)
        .where(ReconcileRun.id == run_id, ReconcileRun.status == RunStatus.RUNNING)
        .with_for_update()
    )
    if run is None:
        return None
    actor = db.session.get(User, run.started_by_id) if run.started_by_id else run.actor_label
    return compare_stripe(actor, rows, run.since, run.until, payouts_listed=listed, run=run)


def fail_run(run_id: int, reason: str) -> None:
    """A run that could not be carried out: failed, with the reason, and no items."""
    run = running_run(run_id)
    if run is not None:
        _mark_failed(run, reason)


def progress_of(run: ReconcileRun) -> dict:
    """What the run page's progress display shows, as the status endpoint sends it."""
    status = shown_status(run)
    if run.status == RunStatus.RUNNING:
        # A dead run's time stopped at its last heartbeat.
        ended = utcnow() if status == RunStatus.RUNNING else (run.heartbeat_at or run.started_at)
    else:
        ended = run.finished_at or run.started_at
    failure = run.failure
    if status == RunStatus.FAILED and not failure:
        failure = _("The process carrying out the run stopped before it ended.")
    return {
        "run": run.id,
        "status": str(status),
        "pages": run.pages,
        "rows": run.fetched,
        "elapsed_seconds": max(0, int((_aware(ended) - _aware(run.started_at)).total_seconds())),
        "failure": failure,
    }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
                "layer": item.layer,
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
    close_item(item, actor, ItemStatus.RESOLVED, note, "note")
    return item


def close_item(item: ReconcileItem, actor: User, status: ItemStatus, note: str, how: str, **after) -> None:
    """Close an open item (resolved or not ours) with the person's note and how it was answered; audited."""
    item.status = status
    item.note = note[:1000]
    item.resolved_by_id = actor.id
    item.resolved_at = utcnow()
    db.session.flush()
    audit.record(
        "reconcile.item_resolved",
        item,
        actor,
        before={"status": ItemStatus.OPEN},
        after={"status": status, "how": how, **after},
        note=note,
    )


def close_run(run: ReconcileRun, actor: User) -> ReconcileRun:
    """A run with nothing open is closed: read-only from then on."""
    if run.status == RunStatus.CLOSED:
        raise Conflict(_("This reconciliation is closed."))
    if run.status != RunStatus.OPEN:
        raise Conflict(_("Only a reconciliation that ended with its results can be closed."))
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
