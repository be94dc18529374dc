"""CSV cells that stay data when the file is opened in a spreadsheet."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@")


def safe_cell(value: str) -> str:
    # Spreadsheets run cells that start with these as formulas; a leading apostrophe keeps them text.
    return "'" + value if value[:1] in FORMULA_STARTS else value
