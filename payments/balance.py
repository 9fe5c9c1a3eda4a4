"""Stripe's balance transactions as plain rows: what moved, what Stripe kept, and which donation it names.

A row is classified by Stripe's `reporting_category` (charge, refund, dispute,
dispute_reversal, payout, fee, …), never by its `type`, which Stripe changes more often.
Its source (expanded) names the charge, the payment intent and, through the metadata that
Checkout copies onto the charge, the donation's public id.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from core.money import is_whole
from payments import gateway

#: Categories whose money belongs to one donation.
CHARGE = "charge"
REFUND = "refund"
DISPUTE = "dispute"
DISPUTE_REVERSAL = "dispute_reversal"
PAYOUT = "payout"


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """One balance transaction. Amounts in fen, signed as Stripe signs them (money in is positive)."""

    id: str
    category: str
    amount_fen: int
    fee_fen: int
    net_fen: int
    currency: str
    created: datetime
    source_id: str | None = None
    charge_id: str | None = None
    payment_intent_id: str | None = None
    donation_public_id: str | None = None

    @property
    def refs(self) -> tuple[str, ...]:
        """Everything that may name this row's donation, the most certain first."""
        return tuple(filter(None, (self.donation_public_id, self.payment_intent_id, self.charge_id)))


class BadRow(ValueError):
    """A balance transaction without the fields every row has."""


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _id_of(value) -> str | None:
    """A field that is either an id or the expanded object."""
    if isinstance(value, dict):
        return _text(value.get("id"))
    return _text(value)


def parse(row: dict) -> BalanceRow:
    """The row's fields, checked; BadRow for one that lacks an id, a category or whole amounts.

    Runs once per row of a period (100,000 rows for a busy month), so the checks are written out
    rather than looped over."""
    txn_id = row.get("id")
    category = row.get("reporting_category")
    amount, fee, created = row.get("amount"), row.get("fee", 0), row.get("created")
    net = row.get("net", amount - fee if is_whole(amount) and is_whole(fee) else None)
    if not (
        txn_id
        and category
        and isinstance(txn_id, str)
        and isinstance(category, str)
        and is_whole(amount)
        and is_whole(fee)
        and is_whole(net)
        and is_whole(created)
    ):
        raise BadRow(f"balance transaction {row.get('id')!r} lacks an id, a category or whole amounts")
    source = row.get("source")
    charge_id = intent = public_id = None
    if isinstance(source, dict):
        source_id = _text(source.get("id"))
        metadata = source.get("metadata")
        if isinstance(metadata, dict):
            public_id = _text(metadata.get("donation_id"))
        intent = _id_of(source.get("payment_intent"))
        if source.get("object") == "charge":
            charge_id = source_id
        else:
            # A refund or a dispute names its charge, which may itself be expanded.
            charge = source.get("charge")
            charge_id = _id_of(charge)
            if isinstance(charge, dict):
                charge_meta = charge.get("metadata") if isinstance(charge.get("metadata"), dict) else {}
                public_id = public_id or _text(charge_meta.get("donation_id"))
                intent = intent or _id_of(charge.get("payment_intent"))
    else:
        source_id = _text(source)
        if source_id and source_id.startswith(("ch_", "py_")):
            charge_id = source_id
    currency = row.get("currency")
    return BalanceRow(
        id=txn_id,
        category=category,
        amount_fen=amount,
        fee_fen=fee,
        net_fen=net,
        currency=currency.upper() if isinstance(currency, str) else "",
        created=datetime.fromtimestamp(created, UTC),
        source_id=source_id,
        charge_id=charge_id,
        payment_intent_id=intent,
        donation_public_id=public_id,
    )


def fetch(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    payout: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[BalanceRow]:
    """Every balance transaction created in [since, until) or paid out in `payout`, through the one
    Stripe door; `progress` hears how many rows each page brought."""
    pages = gateway.balance_transactions(
        gte=int(since.timestamp()) if since else None,
        lt=int(until.timestamp()) if until else None,
        payout=payout,
    )
    for page in pages:
        if progress is not None:
            progress(len(page))
        for row in page:
            yield parse(row)


# --- Stripe's itemised balance change report (CSV) -------------------------------------------------

#: Columns every row of the "Balance change from activity: itemized" report has.
REPORT_COLUMNS = ("balance_transaction_id", "created_utc", "currency", "gross", "fee", "reporting_category")


class BadReport(ValueError):
    """A file that is not Stripe's itemised balance change report, or has a broken row."""


def _minor(text: str, row: int, column: str) -> int:
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal((text or "0").replace(",", ""))
    except InvalidOperation:
        raise BadReport(f"row {row}: {column} {text[:20]!r} is not an amount") from None
    if value != value.quantize(Decimal("0.01")):
        raise BadReport(f"row {row}: {column} {text[:20]!r} is not in yuan and fen")
    return int(value * 100)


def parse_report(data: bytes) -> list[BalanceRow]:
    """The rows of Stripe's itemised balance change report, as the API would have listed them.

    The report gives amounts in major units ("12.34") and times as "YYYY-MM-DD HH:MM:SS" in UTC;
    a metadata column `payment_metadata[donation_id]` names the donation when the report was
    made with it.
    """
    import csv
    import io

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadReport("the report is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or any(column not in reader.fieldnames for column in REPORT_COLUMNS):
        raise BadReport("this is not Stripe's itemised balance change report")
    rows = []
    for number, record in enumerate(reader, start=2):
        txn_id = (record.get("balance_transaction_id") or "").strip()
        category = (record.get("reporting_category") or "").strip()
        if not txn_id or not category:
            raise BadReport(f"row {number}: no balance transaction id or category")
        try:
            created = datetime.strptime(record["created_utc"].strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            raise BadReport(f"row {number}: created_utc {record['created_utc'][:20]!r} is not a time") from None
        gross = _minor(record["gross"], number, "gross")
        fee = _minor(record["fee"], number, "fee")
        rows.append(
            BalanceRow(
                id=txn_id,
                category=category,
                amount_fen=gross,
                fee_fen=fee,
                net_fen=gross - fee,
                currency=record["currency"].strip().upper(),
                created=created,
                source_id=_text((record.get("source_id") or "").strip()),
                charge_id=_text((record.get("charge_id") or "").strip()),
                payment_intent_id=_text((record.get("payment_intent_id") or "").strip()),
                donation_public_id=_text((record.get("payment_metadata[donation_id]") or "").strip()),
            )
        )
    return rows
