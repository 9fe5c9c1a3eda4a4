"""Money is an integer number of fen. Parsing and display live here."""

import re
from decimal import Decimal

from flask_babel import format_decimal

_YUAN = re.compile(r"^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$")


class MoneyError(ValueError):
    pass


def is_whole(value) -> bool:
    """A true integer: JSON's 12, not 12.0, "12" or True (which Python counts as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def parse_yuan(text: str) -> int:
    """'12.5' -> 1250 fen; refuses negatives, more than two decimals and non-numbers."""
    match = _YUAN.match(str(text))
    if not match:
        raise MoneyError(text)
    whole, frac = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(frac)


def fen_to_yuan_str(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def format_money(fen: int, currency: str = "CNY") -> str:
    symbol = {"CNY": "¥", "USD": "$", "HKD": "HK$", "EUR": "€"}.get(currency, currency + " ")
    if fen % 100:
        amount = format_decimal(Decimal(fen) / 100, format="#,##0.00")
    else:
        amount = format_decimal(fen // 100, format="#,##0")
    return f"{symbol}{amount}"
