"""Dates as exports write them: ISO, day-first, month-first, YYYYMMDD integers, Excel serials.

The day/month order is decided from the data (a first number above 12 means
day-first, a second above 12 month-first). When every value of every date
column could be read both ways, :func:`resolve_date_styles` raises
:class:`AmbiguousDates` asking for a date format: never a silent guess.

Parsing works on the distinct values of a column and maps the result back,
so a million timestamps that repeat per invoice line cost little.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_core.ingest.errors import AmbiguousDates, InvalidDateFormat

_SEPARATED = (r"^\s*(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})"
              r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*([AaPp][Mm])?)?\s*(?:Z|[+-]\d{2}:?\d{2})?\s*$")
_YYYYMMDD = r"^\s*(?:18|19|20|21)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s*$"
_SERIAL = r"^\s*\d{5}(?:\.\d+)?\s*$"
EXCEL_ORIGIN = "1899-12-30"

DATE_FORMAT_CHOICES = {
    "DMY": "day first (31/12/2024)",
    "MDY": "month first (12/31/2024)",
    "YMD": "year first (2024-12-31)",
    "YYYYMMDD": "digits only (20241231)",
    "EXCEL": "Excel serial numbers (45657)",
}
_ALIASES = {"DAYFIRST": "DMY", "DAY-FIRST": "DMY", "MONTHFIRST": "MDY", "MONTH-FIRST": "MDY", "ISO": "YMD",
            "%Y%M%D": "YYYYMMDD", "SERIAL": "EXCEL"}


def normalise_date_format(date_format: str | None) -> str | None:
    """``DMY``/``MDY``/``YMD``/``YYYYMMDD``/``EXCEL``, a strftime format (kept as given), or None.

    Raises:
        InvalidDateFormat: an unknown short name (the message lists the choices).
    """
    if date_format is None or not str(date_format).strip():
        return None
    text = str(date_format).strip()
    if "%" in text:
        day, month = text.find("%d"), text.find("%m")
        year = max(text.find("%Y"), text.find("%y"))
        if min(day, month, year) < 0 or re.search(r"%[^dmYyHMSIpfz]", text):
            return text
        if year < day and year < month:
            return "YMD" if month < day else text
        return "DMY" if day < month else "MDY"
    key = text.upper().replace(" ", "")
    key = _ALIASES.get(key, key)
    if key in ("D/M/Y", "DD/MM/YYYY", "DD.MM.YYYY", "DD-MM-YYYY"):
        key = "DMY"
    if key in ("M/D/Y", "MM/DD/YYYY"):
        key = "MDY"
    if key in ("YYYY-MM-DD", "Y-M-D"):
        key = "YMD"
    if key not in DATE_FORMAT_CHOICES:
        raise InvalidDateFormat(f"Unknown date format {date_format!r}: use one of {', '.join(DATE_FORMAT_CHOICES)} "
                         "or a strftime pattern such as %d/%m/%Y.")
    return key


def date_style(values: pd.Series) -> str:
    """How a column writes dates: ``YMD``, ``DMY``, ``MDY``, ``YYYYMMDD``, ``EXCEL``, ``TEXT``,
    ``EMPTY`` or ``AMBIGUOUS`` (every value reads both day-first and month-first)."""
    uniq = pd.Series(pd.unique(values.dropna().astype("string").str.strip()), dtype="string")
    uniq = uniq[uniq != ""]
    if uniq.empty:
        return "EMPTY"
    if _matches(uniq, _YYYYMMDD).all():
        return "YYYYMMDD"
    if _matches(uniq, _SERIAL).all():
        return "EXCEL"
    parts = _extract(uniq, _SEPARATED)
    matched = parts[0].notna()
    if matched.mean() < 0.5:
        return "TEXT"
    parts = parts[matched & (parts[0].str.len() < 4)]
    if parts.empty:
        return "YMD"
    first, second = parts[0].astype(int), parts[1].astype(int)
    day_first, month_first = int((first > 12).sum()), int((second > 12).sum())
    if day_first == 0 and month_first == 0:
        return "AMBIGUOUS"
    return "DMY" if day_first >= month_first else "MDY"


def resolve_date_styles(columns: dict[str, pd.Series], date_format: str | None = None) -> dict[str, str]:
    """Decide how to read each date column; one export uses one day/month order throughout.

    Args:
        columns: source header -> raw string values, for every mapped date column.
        date_format: the user's choice (see :func:`normalise_date_format`); it wins over detection.
    Returns:
        source header -> style or strftime pattern for :func:`parse_dates`.
    Raises:
        AmbiguousDates: when a column is ambiguous, no other column decides the order and no
            date format was given.
    """
    chosen = normalise_date_format(date_format)
    styles = {name: date_style(values) for name, values in columns.items()}
    if chosen is not None:
        if chosen in ("DMY", "MDY", "YMD") or "%" in chosen:
            return {n: (chosen if s in ("DMY", "MDY", "AMBIGUOUS", "YMD", "TEXT") else s) for n, s in styles.items()}
        return {n: chosen for n in styles}
    decided = [s for s in styles.values() if s in ("DMY", "MDY")]
    ambiguous = [n for n, s in styles.items() if s == "AMBIGUOUS"]
    if ambiguous and not decided:
        sample = columns[ambiguous[0]].dropna()
        example = str(sample.iloc[0]) if len(sample) else ""
        raise AmbiguousDates(
            f"Every date in column {ambiguous[0]!r} (e.g. {example!r}) reads both day-first and month-first. "
            "Choose the date format: DMY (31/12/2024) or MDY (12/31/2024) - on the command line "
            "--date-format DMY, on the Import page the date format choice.", column=ambiguous[0])
    order = max(set(decided), key=decided.count) if decided else None
    return {n: (order if s == "AMBIGUOUS" else s) for n, s in styles.items()}


def parse_dates(values: pd.Series, style: str) -> pd.Series:
    """Parse a string column written in ``style`` into ``datetime64[ns]`` (NaT where empty or invalid)."""
    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    codes, uniques = pd.factorize(text)
    uniq = pd.Series(uniques, dtype="string")
    parsed = _parse_unique(uniq, style).astype("datetime64[ns]").to_numpy()
    out = np.full(len(codes), np.datetime64("NaT"), dtype="datetime64[ns]")
    known = codes >= 0
    out[known] = parsed[codes[known]]
    return pd.Series(out, index=values.index, dtype="datetime64[ns]")


def _parse_unique(uniq: pd.Series, style: str) -> pd.Series:
    if uniq.empty:
        return pd.Series([], dtype="datetime64[ns]")
    if style == "YYYYMMDD":
        return pd.to_datetime(uniq, format="%Y%m%d", errors="coerce")
    if style == "EXCEL":
        days = pd.to_numeric(uniq, errors="coerce")
        days = days.where((days > 0) & (days < 2958466))
        return pd.to_datetime(days, unit="D", origin=EXCEL_ORIGIN, errors="coerce").dt.round("s")
    if "%" in style:
        return pd.to_datetime(uniq, format=style, errors="coerce")
    if style in ("DMY", "MDY", "YMD", "AMBIGUOUS", "TEXT", "EMPTY"):
        out = _parse_separated(uniq, style)
        rest = out.isna() & uniq.str.contains(r"[A-Za-z]{3}", regex=True).fillna(False)
        if rest.any():
            out[rest] = pd.to_datetime(uniq[rest], format="mixed", dayfirst=style == "DMY", errors="coerce")
        return out
    raise ValueError(f"unknown date style {style!r}")


def _parse_separated(uniq: pd.Series, order: str) -> pd.Series:
    parts = _extract(uniq, _SEPARATED)
    nums = pd.DataFrame({i: _digits(parts[i]) for i in range(6)}, index=uniq.index)
    year_first = parts[0].str.len() == 4
    if order == "MDY":
        day, month = nums[1].copy(), nums[0].copy()
    else:
        day, month = nums[0].copy(), nums[1].copy()
    year = nums[2].copy()
    day[year_first], month[year_first], year[year_first] = nums[2][year_first], nums[1][year_first], nums[0][year_first]
    year = year.where(year >= 100, year + np.where(year < 70, 2000, 1900))
    hour = nums[3].fillna(0)
    ampm = parts[7].str.upper().fillna("").to_numpy(dtype=object)
    hour = hour.where(~((ampm == "PM") & (hour < 12)), hour + 12)
    hour = hour.where(~((ampm == "AM") & (hour == 12)), 0)
    micro = pd.Series(_digits(parts[6].str.slice(0, 6).str.pad(6, side="right", fillchar="0")),
                      index=uniq.index).fillna(0)
    frame = pd.DataFrame({"year": year, "month": month, "day": day, "hour": hour, "minute": nums[4].fillna(0),
                          "second": nums[5].fillna(0), "us": micro})
    valid = frame[["year", "month", "day"]].notna().all(axis=1)
    out = pd.Series(pd.NaT, index=uniq.index, dtype="datetime64[ns]")
    if valid.any():
        out[valid] = pd.to_datetime(frame[valid].astype("int64"), errors="coerce")
    return out


def _arrow(values: pd.Series) -> pa.Array:
    return pa.array(values.astype("string"))


def _matches(values: pd.Series, pattern: str) -> np.ndarray:
    """``values.str.match(pattern)`` (False where missing), vectorised in Arrow's RE2."""
    hit = pc.fill_null(pc.match_substring_regex(_arrow(values), pattern), False)
    return hit.to_numpy(zero_copy_only=False)


def _digits(values: pd.Series) -> np.ndarray:
    """Groups of ASCII digits (as :func:`_extract` gives them) as floats, NaN where missing."""
    return pc.cast(_arrow(values), pa.float64()).to_numpy(zero_copy_only=False)


def _extract(values: pd.Series, pattern: str) -> pd.DataFrame:
    """``values.str.extract(pattern)`` (groups numbered 0.., NA where missing or not taking part),
    vectorised in Arrow's RE2: a million distinct timestamps take about a second instead of seven."""
    groups = iter(range(pattern.count("(")))
    named = re.sub(r"\((?!\?)", lambda _: f"(?P<g{next(groups)}>", pattern)
    found = pc.extract_regex(_arrow(values), named)
    columns = {}
    for i, field in enumerate(found.flatten()):
        column = pd.Series(pd.arrays.ArrowStringArray(field), index=values.index)
        columns[i] = column.mask(column == "")
    return pd.DataFrame(columns, index=values.index)


def looks_like_dates(values: pd.Series) -> bool:
    """Whether most non-empty values of a column read as dates (used to spot date columns)."""
    sample = values.dropna().astype("string").str.strip()
    sample = sample[sample != ""].head(200)
    if sample.empty:
        return False
    hits = sample.str.match(_SEPARATED) | sample.str.match(_YYYYMMDD)
    return bool(hits.mean() > 0.8)

