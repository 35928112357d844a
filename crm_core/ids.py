"""Normalisation of identifiers as sources give them.

Customer and product ids are text: trimmed, a float-looking ``13085.0``
becomes ``13085`` (spreadsheets turn integer ids into floats), leading zeros
are kept (``00042`` stays ``00042``). Empty values become missing.
"""

from __future__ import annotations

import pandas as pd

_FLOAT_TAIL = r"^([+-]?\d+)\.0+$"


def normalise_ids(values: pd.Series, *, upper: bool = False) -> pd.Series:
    """Return ids as trimmed strings, ``<NA>`` where empty.

    Args:
        values: any Series (numbers, strings, floats read from Excel).
        upper: also upper-case (product codes by default).
    Returns:
        A Series of dtype ``string`` with the same index.
    """
    if pd.api.types.is_float_dtype(values.dtype):
        ints = values.round(0) == values
        as_text = values.astype("string")
        as_text = as_text.where(~ints.fillna(False), values.map(_int_text, na_action="ignore").astype("string"))
        s = as_text
    else:
        s = values.astype("string")
    s = s.str.strip()
    s = s.str.replace(_FLOAT_TAIL, r"\1", regex=True)
    if upper:
        s = s.str.upper()
    s = s.mask(s.isin(["", "nan", "NaN", "None", "NULL", "null", "<NA>"]))
    return s


def normalise_id(value) -> str | None:
    """Normalise one id (see :func:`normalise_ids`)."""
    out = normalise_ids(pd.Series([value], dtype=object))
    v = out.iloc[0]
    return None if pd.isna(v) else str(v)


def _int_text(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(v)
