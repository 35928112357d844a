"""Reading an experiment table's columns: conversion flags, group keys and revenue.

Every cell that cannot be read stops the comparison with an :class:`UpliftInputError`
naming the column, the first such row (``line N`` when the frame is indexed by source
line, as :func:`crm_core.ingest.read_table` gives) and its value: an analysis that
silently dropped customers would report a different experiment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_core.errors import NextBestError


class UpliftInputError(NextBestError):
    """The experiment table cannot be compared as asked."""


class UnknownColumn(UpliftInputError):
    """A column named for the comparison is not in the table."""


class UnknownControl(UpliftInputError):
    """The control value does not occur in the group column."""


class NothingToCompare(UpliftInputError):
    """The group column holds only the control value."""


class UnreadableValue(UpliftInputError):
    """A cell cannot be read: a converted flag that is not yes/no, a revenue that is not a number, a blank group."""


_TRUE = ("1", "1.0", "true", "yes", "y")
_FALSE = ("0", "0.0", "false", "no", "n")


def check_columns(frame: pd.DataFrame, *columns: str | None) -> None:
    """Raise UnknownColumn, listing the table's columns, for the first named column ``frame`` lacks (None: skipped)."""
    for column in columns:
        if column is not None and column not in frame.columns:
            raise UnknownColumn(f"Column {column!r} is not in the table; its columns are: "
                                f"{', '.join(map(str, frame.columns))}.{case_hint(column, frame.columns)}")


def conversion_flags(values: pd.Series, column: str = "converted") -> pd.Series:
    """``values`` read as booleans: True/False, 1/0, or text true/false, yes/no, y/n in any case.

    Raises:
        UnreadableValue: any other value, blank included (the message names the first row and
            the value, and counts the rows like it).
    """
    if pd.api.types.is_bool_dtype(values.dtype) and not values.isna().any():
        return values.astype(bool)
    text = values.astype("string").str.strip().str.lower()
    true, false = text.isin(_TRUE).fillna(False), text.isin(_FALSE).fillna(False)
    bad = ~(true | false)
    if bad.any():
        what = "is empty" if _blank(values.iloc[int(np.flatnonzero(bad)[0])]) else "is not a yes/no value"
        raise UnreadableValue(_first_bad(values, bad.to_numpy(), column, what)
                              + "; write 1/0, true/false, yes/no or y/n.")
    return true.astype(bool)


def group_keys(values: pd.Series, column: str) -> pd.Series:
    """Group or by values, text trimmed; a blank cell is an error naming its row."""
    text = pd.api.types.is_string_dtype(values.dtype) or values.dtype == object
    keys = values.astype("string").str.strip().astype(object) if text else values
    blank = keys.isna() | (keys == "") if text else keys.isna()
    if blank.any():
        raise UnreadableValue(_first_bad(values, np.asarray(blank, dtype=bool), column, "is empty")
                              + "; every customer needs a value there: fill it in or remove the row.")
    return keys


def control_key(values: pd.Series, control):
    """``control`` as it will be compared with :func:`group_keys` of ``values``: trimmed text for a text column."""
    text = pd.api.types.is_string_dtype(values.dtype) or values.dtype == object
    return str(control).strip() if text else control


def revenue_values(values: pd.Series, column: str) -> pd.Series:
    """Numeric revenue, blank as 0; a non-numeric cell is an error naming its row."""
    numbers = pd.to_numeric(values, errors="coerce")
    given = ~values.isna() & ~values.astype("string").str.strip().eq("").fillna(True)
    bad = (given & numbers.isna()).to_numpy(bool)
    if bad.any():
        raise UnreadableValue(_first_bad(values, bad, column, "is not a number") + "; write amounts like 12.50.")
    return numbers.fillna(0.0).astype("float64")


def _first_bad(values: pd.Series, bad: np.ndarray, column: str, what: str) -> str:
    """"line 7: 'converted' value 'maybe' is not ... (3 rows like this)" for the first flagged row."""
    pos = int(np.flatnonzero(bad)[0])
    label = values.index[pos]
    where = f"line {label}" if values.index.name == "line" else f"row {label}"
    more = int(bad.sum()) - 1
    tail = f" ({more} more row{'s' if more != 1 else ''} like this)" if more else ""
    return f"{where}: column {column!r} value {values.iloc[pos]!r} {what}{tail}"


def _blank(value) -> bool:
    return bool(pd.isna(value)) or str(value).strip() == ""


def case_hint(name, candidates) -> str:
    """`` Did you mean 'X'?`` when a candidate differs from ``name`` only in case or spaces, else ``""``."""
    close = [c for c in candidates if str(c).strip().lower() == str(name).strip().lower() and c != name]
    return f" Did you mean {close[0]!r}?" if close else ""
