"""Disbursements: money leaving a fund, with two fund administrators above a set amount.

A request at or below `DISBURSEMENT_APPROVAL_FEN` is paid at once; above it, it waits for
a second fund administrator, who approves or rejects it with a reason. Nobody approves
their own request (checked here, on the server). Paying locks the fund's row
(`SELECT … FOR UPDATE` on PostgreSQL; on SQLite the request's write lock serialises
writers) and only then reads the balance, so two approvals at the same moment can never
take a fund below zero: the second waits for the first and sees what it left. The
status moves by a conditional UPDATE (core.transitions), so one request is paid once.
The caller commits.
"""

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from core import audit, transitions
from core.clock import utcnow
from core.errors import Conflict, Forbidden, NotFound, ValidationError
from core.extensions import db
from core.models import Role, User
from core.money import is_whole
from funds import ledger, signals
from funds.models import (
    DISBURSEMENT_TRANSITIONS,
    Disbursement,
    DisbursementKind,
    DisbursementStatus,
    Fund,
    Project,
)


class InsufficientFunds(Conflict):
    code = "insufficient_funds"


@dataclass
class DisbursementInput:
    kind: str
    amount_fen: object
    payee: str
    purpose: str
    project_id: int | None = None
    #: The wish's public number, for a wish's gift.
    wish: str | None = None
    receipt: str | None = None


def _check_fund_admin(actor: User) -> None:
    if not isinstance(actor, User) or not actor.has_role(Role.FUND_ADMIN):
        raise Forbidden(_("Only a fund administrator may disburse money."))


def approval_refusal(actor: User, disbursement: Disbursement) -> str | None:
    """Why `actor` may not approve this request, or None. Four eyes: never one's own request."""
    if not actor.has_role(Role.FUND_ADMIN):
        return _("Only a fund administrator may disburse money.")
    if disbursement.requested_by_id == actor.id:
        return _("You requested this disbursement, so another fund administrator must approve it.")
    return None


def threshold() -> int:
    """Above this many fen a second fund administrator approves."""
    return current_app.config["DISBURSEMENT_APPROVAL_FEN"]


def needs_approval(amount_fen: int) -> bool:
    return amount_fen > threshold()


def _clean(fund: Fund, data: DisbursementInput) -> tuple[DisbursementInput, int | None]:
    fields: dict = {}
    if data.kind not in set(DisbursementKind):
        fields["kind"] = _("Choose what the money is for.")
    amount = data.amount_fen
    if not is_whole(amount) or amount <= 0:
        fields["amount_fen"] = _("The amount must be a positive whole number of fen.")
    payee = (data.payee or "").strip()
    if not payee or len(payee) > 120:
        fields["payee"] = _("Name who is paid, in at most 120 characters.")
    purpose = (data.purpose or "").strip()
    if not purpose or len(purpose) > 2000:
        fields["purpose"] = _("Say what the money pays for, in at most 2000 characters.")
    project_id = wish_id = None
    if data.kind == DisbursementKind.GRANT:
        project = db.session.get(Project, data.project_id) if data.project_id else None
        if project is None or project.fund_id != fund.id:
            fields["project_id"] = _("Choose one of this fund's projects.")
        else:
            project_id = project.id
    if data.kind == DisbursementKind.WISH_GIFT:
        if not data.receipt:
            fields["receipt"] = _("Attach the purchase receipt.")
        wish = (data.wish or "").strip()
        if not wish:
            fields["wish"] = _("Give the number of the wish whose gift was bought.")
        else:
            answers = [answer for _r, answer in signals.checking_wish_purchase.send(None, wish=wish, fund_id=fund.id)]
            found = [wish_id for wish_id, refusal in answers if wish_id and not refusal]
            refusals = [refusal for _wish_id, refusal in answers if refusal]
            if refusals or not found:
                fields["wish"] = refusals[0] if refusals else _("No such wish.")
            else:
                wish_id = found[0]
    if fields:
        raise ValidationError(fields=fields)
    return DisbursementInput(data.kind, amount, payee, purpose, project_id, None, data.receipt), wish_id


def request(actor: User, fund: Fund, data: DisbursementInput) -> Disbursement:
    """Ask to pay money out of a fund; paid at once when no second approval is needed."""
    _check_fund_admin(actor)
    clean, wish_id = _clean(fund, data)
    if clean.amount_fen > ledger.balance_of(fund.id):
        raise ValidationError(fields={"amount_fen": _("The fund does not hold that much.")})
    disbursement = Disbursement(
        fund_id=fund.id,
        kind=clean.kind,
        amount_fen=clean.amount_fen,
        payee=clean.payee,
        purpose=clean.purpose,
        project_id=clean.project_id,
        wish_id=wish_id,
        receipt=clean.receipt,
        status=DisbursementStatus.REQUESTED,
        requested_by_id=actor.id,
    )
    db.session.add(disbursement)
    db.session.flush()
    audit.record(
        "disbursement.requested",
        disbursement,
        actor,
        after={"amount_fen": clean.amount_fen, "kind": clean.kind, "fund": fund.slug},
    )
    if not needs_approval(clean.amount_fen):
        _pay(disbursement, actor)
    return disbursement


def approve(actor: User, disbursement: Disbursement) -> Disbursement:
    """A second fund administrator approves: the money leaves the fund, if the fund still holds it."""
    refusal = approval_refusal(actor, disbursement)
    if refusal:
        raise Forbidden(refusal)
    if disbursement.status != DisbursementStatus.REQUESTED:
        raise Conflict(_("This request was decided already."))
    return _pay(disbursement, actor)


def reject(actor: User, disbursement: Disbursement, reason: str) -> Disbursement:
    """Turn a request down with a reason; its requester may withdraw it the same way."""
    _check_fund_admin(actor)
    reason = (reason or "").strip()
    if not reason or len(reason) > 1000:
        raise ValidationError(fields={"reason": _("Give the reason, in at most 1000 characters.")})
    if disbursement.status != DisbursementStatus.REQUESTED:
        raise Conflict(_("This request was decided already."))
    transitions.move(
        disbursement,
        DisbursementStatus.REJECTED,
        DISBURSEMENT_TRANSITIONS,
        actor,
        "disbursement.rejected",
        note=reason,
        decided_by_id=actor.id,
        decided_at=utcnow(),
        reason=reason,
    )
    return disbursement


def _lock_fund(fund_id: int) -> None:
    db.session.execute(select(Fund.id).where(Fund.id == fund_id).with_for_update())


def _pay(disbursement: Disbursement, actor: User) -> Disbursement:
    _lock_fund(disbursement.fund_id)
    # Read after the lock: whatever another payment took is gone from this balance.
    balance = ledger.balance_of(disbursement.fund_id)
    if disbursement.amount_fen > balance:
        raise InsufficientFunds(
            _(
                "The fund holds %(have)s yuan, less than the %(want)s yuan asked for.",
                have=balance / 100,
                want=disbursement.amount_fen / 100,
            )
        )
    transitions.move(
        disbursement,
        DisbursementStatus.PAID,
        DISBURSEMENT_TRANSITIONS,
        actor,
        "disbursement.paid",
        decided_by_id=actor.id,
        decided_at=utcnow(),
    )
    ledger.post(
        f"disbursement:{disbursement.id}",
        disbursement.fund_id,
        [("expense:disbursements", disbursement.amount_fen), ("asset:bank", -disbursement.amount_fen)],
        f"disbursement {disbursement.id} to {disbursement.payee}",
        actor,
    )
    signals.disbursement_paid.send(disbursement, actor=actor)
    return disbursement


def get(disbursement_id: int) -> Disbursement:
    found = db.session.get(Disbursement, disbursement_id)
    if found is None:
        raise NotFound()
    return found


def of_fund(fund: Fund | None = None) -> list[Disbursement]:
    query = select(Disbursement).order_by(Disbursement.requested_at.desc(), Disbursement.id.desc())
    if fund is not None:
        query = query.where(Disbursement.fund_id == fund.id)
    return list(db.session.scalars(query))


def waiting_for(actor: User) -> list[Disbursement]:
    """Requests another fund administrator made, waiting for a decision."""
    return list(
        db.session.scalars(
            select(Disbursement)
            .where(Disbursement.status == DisbursementStatus.REQUESTED, Disbursement.requested_by_id != actor.id)
            .order_by(Disbursement.requested_at)
        )
    )
