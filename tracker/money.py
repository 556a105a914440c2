"""Money: stored as exact 元 (two decimals), typed and shown in 万元 as the bureau's forms are."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

#: 1 万元 in 元
WAN = Decimal(10000)
FEN = Decimal("0.01")


def wan_to_yuan(value: Decimal | int | str | None) -> Decimal | None:
    """万元 as typed -> 元 as stored, exact to the fen."""
    if value is None:
        return None
    return (Decimal(value) * WAN).quantize(FEN, rounding=ROUND_HALF_UP)


def yuan_to_wan(value: Decimal | int | None) -> Decimal | None:
    return None if value is None else Decimal(value) / WAN


def format_wan(value: Decimal | int | None, places: int = 2) -> str:
    """元 -> '1,234.56' (万元, with thousands separators); '—' when unknown."""
    if value is None:
        return "—"
    return f"{Decimal(value) / WAN:,.{places}f}"


def plain_number(value: Any) -> Any:
    """Decimal money as an int when whole (else a float), so facts and settings are plain JSON."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
