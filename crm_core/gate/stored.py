"""How the facts and flag details are kept with each gated offer: Arrow-backed columns of JSON-safe values.

``facts`` is a struct column: ``offers["facts"].iloc[i]`` is a plain dict
(str, int, float, bool or None values, no NaN), and ``flag_details`` a list
column whose items are lists of ``{code, severity, message}`` dicts (its three
fields are dictionary-encoded: a message without numbers is stored once).

Why Arrow and not a Python dict per offer: building 3 million 14-key dicts
took 10-13 s on the 2-core dev machine (zip, ``Table.to_pylist`` and
``to_pandas`` alike), more than the whole gate's budget; the Arrow columns
cost well under a second and still give dicts on access. To store them,
``pa.array(offers["facts"])`` gives the struct array (one field per fact) for a
column-wise JSON encoder, and ``.tolist()`` gives the dicts when speed does not matter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

# Fact name -> (Arrow type, decimals kept for floats). last_contacted_at is left out: days_since_contact says it.
FACT_FIELDS = {
    "scenario": (pa.string(), None), "score": (pa.float64(), 6),
    "email_opt_in": (pa.bool_(), None), "do_not_contact": (pa.bool_(), None), "consent_known": (pa.bool_(), None),
    "days_since_contact": (pa.int64(), None), "held": (pa.bool_(), None),
    "days_since_bought": (pa.int64(), None), "repurchase_days": (pa.int64(), None),
    "product_active": (pa.bool_(), None), "price": (pa.float64(), 2), "price_source": (pa.string(), None),
    "basket": (pa.float64(), 2), "purchases": (pa.int64(), None), "days_since_first": (pa.int64(), None),
    "days_since_last_line": (pa.int64(), None), "margin_rate": (pa.float64(), 4),
    "days_since_exported": (pa.int64(), None), "has_pitch": (pa.bool_(), None), "pitch_failures": (pa.string(), None),
}
FACTS_TYPE = pa.struct([(name, kind) for name, (kind, _) in FACT_FIELDS.items()])
_TEXT = pa.dictionary(pa.int32(), pa.string())  # few distinct values per column: stored once
DETAIL_TYPE = pa.struct([("code", _TEXT), ("severity", _TEXT), ("message", _TEXT)])


def facts_column(facts: pd.DataFrame) -> pd.Series:
    """The facts frame as one struct column (a JSON-safe dict per offer), same index.

    Numbers are rounded (money to cents, rates to 4 decimals, days whole);
    unknown values are null (None), never NaN.
    """
    arrays = [_field(facts[name], kind, places) for name, (kind, places) in FACT_FIELDS.items()]
    struct = pa.StructArray.from_arrays(arrays, fields=list(FACTS_TYPE))
    return pd.Series(pd.arrays.ArrowExtensionArray(struct), index=facts.index, name="facts")


def facts_frame(records) -> pd.DataFrame:
    """The facts frame back from stored facts (a ``facts`` column, or a list of dicts), for re-rendering flags.

    Missing keys read as unknown; ``last_contacted_at`` comes back as NaT.
    """
    if isinstance(records, pd.Series) and isinstance(records.dtype, pd.ArrowDtype):
        table = pa.array(records.array).cast(FACTS_TYPE)
        index = records.index
    else:
        rows = [r if isinstance(r, dict) else {} for r in list(records)]
        table = pa.array(rows, type=FACTS_TYPE)
        index = pd.RangeIndex(len(rows))
    if isinstance(table, pa.ChunkedArray):
        table = table.combine_chunks()
    out = {}
    for i, (name, (kind, _)) in enumerate(FACT_FIELDS.items()):
        values = table.field(i)
        if kind == pa.string():
            out[name] = pd.arrays.ArrowStringArray(pa.chunked_array([values.cast(pa.large_string())]))
        elif kind == pa.bool_():
            out[name] = pd.array(values.to_pandas(), dtype="boolean")
        else:
            out[name] = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
    frame = pd.DataFrame(out, index=index)
    frame["last_contacted_at"] = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    for name in ("consent_known", "held", "product_active", "has_pitch"):  # plain bools in the facts frame
        frame[name] = frame[name].fillna(name == "product_active").astype(bool)
    frame["purchases"] = np.nan_to_num(frame["purchases"].to_numpy(dtype=float)).astype(np.int64)
    frame["pitch_failures"] = frame["pitch_failures"].fillna("")
    return frame


def details_column(offsets: np.ndarray, flag: np.ndarray, codes: pa.Array, severities: pa.Array,
                   message: np.ndarray, messages: pa.Array, index) -> pd.Series:
    """Per offer the list of its flags as ``{code, severity, message}`` dicts.

    Args:
        offsets: offer i's flags are items ``offsets[i]:offsets[i + 1]`` (n + 1 values).
        flag: per item, which entry of ``codes`` / ``severities`` it is.
        codes, severities: the distinct flags raised (aligned).
        message: per item, its entry in ``messages``.
        messages: the distinct message texts.
        index: the offers' index.
    """
    flag, message = pa.array(flag, pa.int32()), pa.array(message, pa.int32())
    items = pa.StructArray.from_arrays([pa.DictionaryArray.from_arrays(flag, codes),
                                        pa.DictionaryArray.from_arrays(flag, severities),
                                        pa.DictionaryArray.from_arrays(message, messages)], fields=list(DETAIL_TYPE))
    lists = pa.ListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int32), pa.int32()), items)
    return pd.Series(pd.arrays.ArrowExtensionArray(lists), index=index, name="flag_details")


def _field(values: pd.Series, kind: pa.DataType, places: int | None) -> pa.Array:
    """One fact column as an Arrow array of ``kind`` (null where unknown)."""
    if kind == pa.string():
        text = pa.array(values.astype("string").array)
        text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
        return text.cast(pa.string())
    if kind == pa.bool_():
        b = values.astype("boolean")
        return pa.array(b.to_numpy(dtype=bool, na_value=False), pa.bool_(), mask=b.isna().to_numpy())
    a = pd.to_numeric(values).to_numpy(dtype=float, na_value=np.nan)
    unknown = ~np.isfinite(a)
    if kind == pa.int64():
        return pa.array(np.where(unknown, 0, np.rint(a)).astype(np.int64), pa.int64(), mask=unknown)
    return pa.array(np.where(unknown, 0.0, np.round(a, places)), pa.float64(), mask=unknown)
