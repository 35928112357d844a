"""Calendar helpers that hold at the edges: a stored date can be anything a database accepts.

pandas timestamps end in 2262 and ``date.max + 1 day`` overflows, so a run
stored as of 9999-12-31 (refused today, but possible in an old database) once
crashed Customer 360 for every customer. These helpers clamp instead.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

_PANDAS_FIRST = pd.Timestamp.min.ceil("D").date()
_PANDAS_LAST = (pd.Timestamp.max.floor("D") - pd.Timedelta(days=1)).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """The first instant after the whole day ``day`` (``datetime.max`` for the last day there is)."""
    if day >= dt.date.max:
        return dt.datetime.max
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def as_timestamp(day: dt.date) -> pd.Timestamp:
    """``day`` as a pandas Timestamp, clamped to the range pandas can hold (years 1677-2262)."""
    return pd.Timestamp(min(max(day, _PANDAS_FIRST), _PANDAS_LAST))
