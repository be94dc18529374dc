"""What a client is worth a year (PRODUCT.md §3 `/client value`): read as people write it, shown the same way.

Whole units of the workspace's one currency; the currency itself is never stored, so a sign typed with the
amount is accepted and dropped.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

MAX_VALUE = 10**12
MAX_TEXT = 40  # characters: far more than any real amount, far less than would cost anything to read
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*([km]?)")
_CURRENCY = "$€£¥₹"
CLEAR_WORDS = ("none", "unset", "clear", "-")


class AmountError(ValueError):
    pass


def parse_value(text: str) -> int | None:
    """'250000', '250,000', '250k', '1.2m', '$250k' -> whole units; 'none' -> None (cleared)."""
    raw = " ".join(text.lower().split())
    if len(raw) > MAX_TEXT:
        raise AmountError(f"That is {len(raw):,} characters, too long for an amount; use a number like 250000, "
                          "250k or 1.2m")
    if raw in CLEAR_WORDS:
        return None
    cleaned = raw.strip(_CURRENCY + " ").replace(",", "").replace("_", "")
    for code in ("usd", "eur", "gbp", "chf", "cad", "aud", "jpy"):
        cleaned = cleaned.removeprefix(code).removesuffix(code).strip()
    match = _AMOUNT.fullmatch(cleaned)
    if not match:
        raise AmountError(f"I can't read {text.strip()!r} as an amount. Use a number like 250000, 250k or 1.2m, "
                          "or none to clear it")
    # Decimal, not float: exact, and no overflow to infinity however many digits a cell holds
    amount = Decimal(match.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2)]
    if amount > MAX_VALUE:
        raise AmountError(f"{text.strip()!r} is more than a trillion a year; check the amount")
    value = int(amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    if value <= 0:
        raise AmountError("A value must be more than 0; use none to clear it")
    return value


def format_value(value: int) -> str:
    """250000 -> '250,000'."""
    return f"{value:,}"
