"""Cells that cannot attack whoever opens an export in Excel or WPS."""

from __future__ import annotations

from typing import Any

# A cell starting with one of these is read as a formula (or DDE) by spreadsheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe, the
    usual neutraliser (OWASP CSV injection); numbers, dates and booleans pass as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
