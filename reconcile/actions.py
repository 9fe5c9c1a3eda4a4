"""What a fund administrator does with an item beyond a note: post a correcting journal, or link a
row or line that names no donation here to the donation it belongs to.

Each action needs a note, a fund administrator, an open item of a run that is not closed; it
resolves the item, records what was done on it (the journal, the donation) and leaves an audit
row. The caller commits: the action and the item's resolution are one transaction.
"""

import contextlib
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import or_, select

from core.database import insert_for
from core.errors import Conflict, ValidationError
from core.extensions import db
from core.models import User
from core.money import MoneyError, fen_to_yuan_str, parse_yuan
from funds import services as fund_services
from funds.models import CHANNEL_LABELS, ONLINE_CHANNELS, Disbursement, Donation, DonationStatus, Fund
from reconcile.bank import BANK_CHANNELS, check_fund_admin
from reconcile.matching import Kind
from reconcile.models import BankMatch, ItemLayer, ItemStatus, ReconcileItem, RunStatus
from reconcile.services import close_item

#: Items a correcting journal answers: the ledger and the outside record disagree on money.
JOURNAL_KINDS = (Kind.MISSING_HERE, Kind.MISSING_THERE, Kind.AMOUNT_MISMATCH, Kind.NO_FUND)
#: Items a link answers: a row or line that names no donation here.
LINK_KINDS = (Kind.MISSING_HERE, Kind.AMBIGUOUS)
PAID = (
    DonationStatus.SUCCEEDED,
    DonationStatus.PARTIALLY_REFUNDED,
    DonationStatus.REFUNDED,
    DonationStatus.DISPUTED,
)
#: Candidates shown for one search.
CANDIDATES = 20


def _check_open(item: ReconcileItem) -> None:
    if item.run.status == RunStatus.CLOSED:
        raise Conflict(_("This reconciliation is closed."))
    if item.status != ItemStatus.OPEN:
        raise Conflict(_("This item was resolved already."))


def _clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if not note or len(note) > 1000:
        raise ValidationError(fields={"note": _("Say why, in at most 1000 characters.")})
    return note


# --- a correcting journal ------------------------------------------------------------------------


@dataclass(frozen=True)
class Correction:
    """What the correction form starts from: the item's exact difference, on the account it is about.

    `amount_fen` goes into `asset` (negative: out of it); `counter` takes the other side.
    """

    fund_id: int | None
    asset: str
    counter: str
    amount_fen: int


def can_correct(item: ReconcileItem) -> bool:
    return item.kind in JOURNAL_KINDS and item.status == ItemStatus.OPEN and item.difference_fen != 0


def proposed_correction(item: ReconcileItem) -> Correction:
    """The journal that would bring the ledger to what the outside record says."""
    asset = "asset:bank" if item.layer == ItemLayer.BANK else "asset:stripe"
    key = item.entry_key or ""
    if item.reference.endswith(":fee"):
        # A fee Stripe changed: more fee is less money in the Stripe balance.
        return Correction(_fund_of(item), asset, "expense:fees", -item.difference_fen)
    if item.kind == Kind.NO_FUND:
        counter = "expense:fees" if item.difference_fen < 0 else "income:donations"
    elif item.layer == ItemLayer.CHARGE_PAYOUT and item.kind == Kind.AMOUNT_MISMATCH:
        counter = "asset:bank"
    elif key.startswith("disbursement:"):
        counter = "expense:disbursements"
    elif key.startswith("payout:"):
        counter = "asset:stripe"
    elif item.amount_fen < 0:
        counter = "income:refunds" if item.layer != ItemLayer.BANK else "expense:disbursements"
    else:
        counter = "income:donations"
    return Correction(_fund_of(item), asset, counter, item.difference_fen)


def _fund_of(item: ReconcileItem) -> int | None:
    if item.donation is not None:
        return item.donation.fund_id
    if (item.entry_key or "").startswith("disbursement:"):
        found = db.session.get(Disbursement, int(item.entry_key.split(":")[1]))
        return found.fund_id if found else None
    return None


def post_correction(
    item: ReconcileItem, actor: User, fund_id: int | None, asset: str, counter: str, amount_fen: int, note: str
) -> ReconcileItem:
    """Post the correcting journal the administrator confirmed and resolve the item with it."""
    check_fund_admin(actor)
    note = _clean_note(note)
    _check_open(item)
    if item.kind not in JOURNAL_KINDS:
        raise Conflict(_("A journal corrects a difference of money; resolve this item with a note."))
    fund = db.session.get(Fund, fund_id) if fund_id else None
    memo = _(
        "Correction of reconciliation %(run)s, item %(item)s (%(reference)s): %(note)s",
        run=item.run_id,
        item=item.id,
        reference=item.reference,
        note=note,
    )
    journal = fund_services.post_correcting_journal(
        actor, fund, asset, counter, amount_fen, memo, f"reconcile-item:{item.id}"
    )
    item.journal_id = journal.id
    close_item(
        item,
        actor,
        ItemStatus.RESOLVED,
        note,
        "journal",
        journal=journal.id,
        amount_fen=amount_fen,
        asset=asset,
        counter=counter,
    )
    return item


# --- a link to a donation ------------------------------------------------------------------------


def can_link(item: ReconcileItem) -> bool:
    return (
        item.kind in LINK_KINDS
        and item.status == ItemStatus.OPEN
        and item.donation_id is None
        and item.amount_fen > 0
        and (item.bank_line_id is not None if item.layer == ItemLayer.BANK else bool(item.external_ref))
    )


def _channels(item: ReconcileItem) -> tuple[str, ...]:
    return BANK_CHANNELS if item.layer == ItemLayer.BANK else tuple(c.value for c in ONLINE_CHANNELS)


def candidates(item: ReconcileItem, query: str | None) -> list[Donation]:
    """Donations of the item's channel found by receipt number, public id, reference code or amount
    (in yuan); with no query, those of the item's amount."""
    query = (query or "").strip()[:60]
    statement = select(Donation).where(Donation.channel.in_(_channels(item)), Donation.simulated.is_(False))
    if not query:
        statement = statement.where(Donation.amount_fen == item.amount_fen)
    else:
        terms = [Donation.receipt_no == query, Donation.public_id == query, Donation.reference == query]
        with contextlib.suppress(MoneyError):
            terms.append(Donation.amount_fen == parse_yuan(query))
        statement = statement.where(or_(*terms))
    return list(
        db.session.scalars(statement.order_by(Donation.created_at.desc(), Donation.id.desc()).limit(CANDIDATES))
    )


def link_refusal(item: ReconcileItem, donation: Donation) -> str | None:
    """Why this row or line cannot be the donation's, or None."""
    if donation.channel not in _channels(item) or donation.simulated:
        channel = CHANNEL_LABELS.get(donation.channel, donation.channel)
        if item.layer == ItemLayer.BANK:
            return _(
                "This donation came by %(channel)s: a bank line is linked to a bank transfer or a cheque.",
                channel=channel,
            )
        return _(
            "This donation came by %(channel)s: a Stripe payment is linked to a donation paid online.", channel=channel
        )
    if donation.status not in PAID:
        return _("This donation is not paid here yet: its payment has to be recorded first.")
    if donation.amount_fen != item.amount_fen:
        return _(
            "The donation is %(donation)s yuan and this is %(here)s yuan: a difference of %(diff)s yuan.",
            donation=fen_to_yuan_str(donation.amount_fen),
            here=fen_to_yuan_str(item.amount_fen),
            diff=fen_to_yuan_str(item.amount_fen - donation.amount_fen),
        )
    others = select(ReconcileItem.id).where(
        ReconcileItem.linked_donation_id == donation.id, ReconcileItem.id != item.id
    )
    if item.layer != ItemLayer.BANK:
        # The same Stripe payment reported by two runs may be linked from each.
        others = others.where(
            or_(ReconcileItem.external_ref.is_(None), ReconcileItem.external_ref != item.external_ref)
        )
    if db.session.scalar(others):
        return _("Another item is linked to this donation already.")
    if item.layer == ItemLayer.BANK:
        if db.session.scalar(select(BankMatch.id).where(BankMatch.entry_key == f"donation:{donation.id}")):
            return _("A bank line settled this donation already.")
    elif (donation.charge_id or donation.payment_intent_id) and item.external_ref not in (
        donation.charge_id,
        donation.payment_intent_id,
    ):
        return _("This donation was paid through another Stripe payment already.")
    return None


def link_donation(item: ReconcileItem, actor: User, donation: Donation | None, note: str) -> ReconcileItem:
    """Tie the row or line to its donation and resolve the item. A bank line then settles the
    donation's bank side, so the next statement does not report it again; a Stripe payment is
    found through the link by the next run."""
    check_fund_admin(actor)
    note = _clean_note(note)
    _check_open(item)
    if not can_link(item):
        raise Conflict(_("Only a row or a line of money in that names no donation here can be linked."))
    if donation is None:
        raise ValidationError(fields={"donation": _("Choose the donation.")})
    # Two links to one donation at the same moment: the donation's row is locked first, so the
    # second reads the first's link and is refused.
    db.session.execute(select(Donation.id).where(Donation.id == donation.id).with_for_update())
    refusal = link_refusal(item, donation)
    if refusal:
        raise ValidationError(fields={"donation": refusal})
    item.linked_donation_id = donation.id
    if item.layer == ItemLayer.BANK:
        db.session.execute(
            insert_for(db.session)(BankMatch).on_conflict_do_nothing(index_elements=["line_id", "entry_key"]),
            [
                {
                    "line_id": item.bank_line_id,
                    "entry_key": f"donation:{donation.id}",
                    "run_id": item.run_id,
                    "matched_by_id": actor.id,
                }
            ],
        )
    close_item(item, actor, ItemStatus.RESOLVED, note, "linked", donation=donation.public_id)
    return item


def find_donation(public_id: str | None) -> Donation | None:
    public_id = (public_id or "").strip()
    return db.session.scalar(select(Donation).where(Donation.public_id == public_id)) if public_id else None
