"""CSV for spreadsheets: text that a spreadsheet would run as a formula is written as plain text."""

from __future__ import annotations

import pandas as pd

# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice and Google
# Sheets: "=cmd|' /C calc'!A0" in an alert title must arrive as text. Full-width forms count too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def inert_cell(value: object) -> object:
    """A text cell that would start a formula, with a leading apostrophe (shown as text); others as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(frame: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV with every formula-like text cell (and header) neutralised."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(inert_cell)
    safe.columns = [inert_cell(str(c)) for c in safe.columns]
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8")  # RFC 4180: CR or LF quoted
