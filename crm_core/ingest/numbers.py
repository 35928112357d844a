"""Numbers as exports write them: decimal comma or point, thousands separators, currency signs.

Money becomes integer minor units exactly: each distinct text value is read
as a :class:`decimal.Decimal` and rounded with ``round`` (half to even), never
by truncating a float. Work is done on distinct values and mapped back.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

_CURRENCY = r"(?i)[£€$¥]|\b(?:EUR|GBP|USD|CHF|SEK|DKK|NOK|PLN)\b"
_SPACES = r"[\s\u00a0\u202f']"
_CANONICAL = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_COMMA_DECIMAL = r"^[+-]?\d+,\d{1,2}$|^[+-]?\d+,\d{4,}$|\d\.\d{3},\d+$|^[+-]?0,\d+$"
_POINT_DECIMAL = r"^[+-]?\d+\.\d{1,2}$|^[+-]?\d+\.\d{4,}$|\d,\d{3}\.\d+$|^[+-]?0\.\d+$"


@dataclass(frozen=True)
class NumberFormat:
    """How a file writes numbers: the decimal mark and the thousands separator (None: none)."""

    decimal: str = "."
    thousands: str | None = None

    def describe(self) -> str:
        """A short label for the report, e.g. ``decimal comma, thousands '.'``."""
        mark = "decimal comma" if self.decimal == "," else "decimal point"
        return mark + (f", thousands {self.thousands!r}" if self.thousands else "")


def _bare(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    text = text.str.replace(_CURRENCY, "", regex=True).str.replace(_SPACES, "", regex=True)
    return text.mask(text == "")


def detect_number_format(columns: list[pd.Series], delimiter: str | None = None) -> NumberFormat:
    """Decide the decimal mark and thousands separator from the values of the numeric columns.

    Evidence: ``12,5`` or ``1.234,56`` mean a decimal comma; ``12.5`` or ``1,234.56`` a decimal
    point. Without evidence a semicolon-separated file is taken as decimal comma (the
    European convention), any other as decimal point.
    """
    distinct = [pd.Series(pd.unique(c.dropna()), dtype="string") for c in columns]
    uniq = pd.Series(pd.unique(pd.concat([_bare(c) for c in distinct]).dropna()) if columns else [],
                     dtype="string")
    comma = int(uniq.str.contains(_COMMA_DECIMAL, regex=True).sum()) if len(uniq) else 0
    point = int(uniq.str.contains(_POINT_DECIMAL, regex=True).sum()) if len(uniq) else 0
    if comma == point == 0:
        decimal = "," if delimiter == ";" else "."
    else:
        decimal = "," if comma > point else "."
    other = "." if decimal == "," else ","
    grouped = uniq.str.contains(r"\d" + ("\\." if other == "." else ",") + r"\d{3}(?:\D|$)", regex=True).sum() \
        if len(uniq) else 0
    return NumberFormat(decimal=decimal, thousands=other if grouped else None)


def canonical_numbers(values: pd.Series, fmt: NumberFormat, *, percent: bool = False) -> tuple[pd.Series, pd.Series]:
    """Rewrite numbers as canonical text (``-1234.5``).

    Handles currency signs, spaces, ``(12.50)`` and ``12.50-`` negatives and, with
    ``percent``, a trailing ``%`` (kept as a marker: the value is divided by 100 by the caller).
    Returns:
        ``(canonical, bad)``: canonical text (``<NA>`` where empty or bad) and a mask of
        non-empty values that are not numbers.
    """
    codes, raw_uniques = pd.factorize(values)
    bare = _bare(pd.Series(raw_uniques, dtype="string"))
    codes = np.where(codes >= 0, codes, -1)
    u = bare
    negative = u.str.match(r"^\(.*\)$") | u.str.match(r"^[^-].*-$")
    u = u.str.replace(r"^\((.*)\)$", r"\1", regex=True).str.replace(r"^([^-].*)-$", r"\1", regex=True)
    if percent:
        u = u.str.replace(r"%$", "", regex=True)
    if fmt.thousands:
        u = u.str.replace(fmt.thousands, "", regex=False)
    if fmt.decimal == ",":
        u = u.str.replace(",", ".", regex=False)
    u = u.where(~negative.fillna(False), "-" + u)
    u = u.str.replace(r"^--", "", regex=True)
    good = u.str.match(_CANONICAL).fillna(False)
    canon_u = u.where(good)
    canon = _take(canon_u, codes, values.index)
    bad_u = (bare.notna() & canon_u.isna()).to_numpy(bool)
    bad = np.zeros(len(codes), dtype=bool)
    bad[codes >= 0] = bad_u[codes[codes >= 0]]
    return canon, pd.Series(bad, index=values.index)


def _take(uniques: pd.Series, codes: np.ndarray, index) -> pd.Series:
    arr = uniques.to_numpy(dtype=object, na_value=None)
    out = np.empty(len(codes), dtype=object)
    out[:] = None
    known = codes >= 0
    out[known] = arr[codes[known]]
    return pd.Series(out, index=index, dtype="string")


def to_float(canonical: pd.Series) -> pd.Series:
    """Canonical number text to float64 (NaN where missing)."""
    return pd.Series(pd.to_numeric(canonical, errors="coerce").to_numpy(dtype="float64", na_value=np.nan),
                     index=canonical.index)


def to_minor(canonical: pd.Series, decimals: int) -> pd.Series:
    """Canonical number text to integer minor units (``Int64``), exactly (Decimal, half to even)."""
    codes, uniques = pd.factorize(canonical)
    minor = np.array([_minor(Decimal(u), decimals) for u in uniques], dtype=object)
    return _take_int(minor, codes, canonical.index)


def product_to_minor(quantity: pd.Series, unit_price: pd.Series, decimals: int) -> pd.Series:
    """``quantity × unit_price`` in integer minor units, exactly, from canonical number texts."""
    cq, uq = pd.factorize(quantity)
    cp, up = pd.factorize(unit_price)
    both = (cq >= 0) & (cp >= 0)
    pair = np.where(both, cq.astype(np.int64) * max(len(up), 1) + cp, -1)
    keys, inverse = np.unique(pair, return_inverse=True)
    qd = [Decimal(v) for v in uq]
    pd_ = [Decimal(v) for v in up]
    n = max(len(up), 1)
    minor = np.array([None if k < 0 else _minor(qd[k // n] * pd_[k % n], decimals) for k in keys], dtype=object)
    return _take_int(minor, inverse.reshape(-1).astype(np.int64), quantity.index)


def _minor(value: Decimal, decimals: int):
    try:
        scaled = round(value.scaleb(decimals))
    except (InvalidOperation, OverflowError, ValueError):
        return None
    return scaled if abs(scaled) < 2 ** 62 else None


def _take_int(minor: np.ndarray, codes: np.ndarray, index) -> pd.Series:
    values = np.empty(len(codes), dtype=object)
    values[:] = None
    known = codes >= 0
    values[known] = minor[codes[known]]
    return pd.Series(pd.array(values, dtype="Int64"), index=index)
