"""Safety of every file NextBest writes for a spreadsheet.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
run as a formula by Excel, LibreOffice and Google Sheets (CSV injection);
openpyxl and ``DataFrame.to_excel`` even store such a string as a live
formula. Every text cell of an export goes through :func:`neutralise_formulas`,
which prefixes it with an apostrophe. Numbers are left alone, so ``-12.5``
in a numeric column stays a number.
"""

from __future__ import annotations

import re

import pandas as pd

_FORMULA_START = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise_text(value: str) -> str:
    """One cell: prefix ``'`` when a spreadsheet would run it, unless it is a plain number."""
    if value and _FORMULA_START.match(value) and not _NUMBER.match(value):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot run as formulas (vectorised)."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_string_dtype(s) or s.dtype == object):
            continue
        text = s.astype("string")
        risky = text.str.match(_FORMULA_START.pattern, na=False) & ~text.str.fullmatch(_NUMBER.pattern, na=False)
        if risky.any():
            out[col] = text.where(~risky, "'" + text)
    if any(_FORMULA_START.match(str(c)) for c in out.columns):
        out.columns = [neutralise_text(str(c)) for c in out.columns]
    return out
