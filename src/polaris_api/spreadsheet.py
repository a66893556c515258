"""07 PRIV-3: spreadsheet formula neutralisation, shared by every CSV/XLSX export."""

from __future__ import annotations

from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    """PRIV-3: a cell starting with ``= + - @``, tab or carriage return gets a leading ``'``."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def cell_safe(value: Any) -> Any:
    """PRIV-3 for typed cells (XLSX): numbers, booleans and ``None`` stay typed, text is neutralised."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return csv_safe(value)
