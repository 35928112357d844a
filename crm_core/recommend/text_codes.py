"""Integer codes of text id columns (customers, invoices, products), fast at ten million lines.

Hashing ten million strings is the slowest step of reading a big history, so
ids written as plain decimal numbers (``12345``, the usual case for customer
and invoice numbers) are parsed as integers and coded with a lookup table;
anything else (letters, leading zeros, signs, spaces) goes through Arrow's
dictionary encoding. Both paths give the same codes for the same ids.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_POWERS_OF_TEN = 10 ** np.arange(19, dtype=np.int64)
_DECIMAL = r"^(0|[1-9][0-9]{0,17})$"
_LOOKUP_LIMIT = 64_000_000  # largest numeric id coded with a lookup table (one int64 per value)


def as_arrow_text(values, keep: np.ndarray | None = None) -> pa.ChunkedArray:
    """A Series, array or list of ids as Arrow strings (nulls where missing), only where ``keep`` when given."""
    if isinstance(values, pd.Series):
        values = values.array
    if not (isinstance(values, pd.api.extensions.ExtensionArray) and isinstance(values.dtype, pd.StringDtype)):
        values = pd.array(np.asarray(values, dtype=object), dtype="string")
    arr = values.__arrow_array__()
    arr = arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])
    if arr.type != pa.string():
        arr = arr.cast(pa.string())
    return arr.filter(pa.array(keep)) if keep is not None else arr


def factorize_text(values, keep: np.ndarray | None = None) -> tuple[np.ndarray, pa.Array]:
    """Codes of text ids (in an unspecified order) and the distinct ids.

    Args:
        values: a Series or array of text ids (missing allowed).
        keep: bool mask of the values to code (all when None).
    Returns:
        (int64 code per kept value, -1 where missing; Arrow string array of
        the distinct ids, indexed by code).
    """
    arr = as_arrow_text(values, keep)
    numeric = _decimal_values(arr)
    if numeric is not None:
        ints, valid = numeric
        codes, distinct = _code_integers(ints, valid)
        # "007" or "+7" would read as 7: only accept when every id is spelled like its number
        digits = np.maximum(np.searchsorted(_POWERS_OF_TEN, distinct, side="right"), 1)
        spelled = int(np.dot(np.bincount(codes[codes >= 0], minlength=len(distinct)), digits))
        if spelled == (pc.sum(pc.utf8_length(arr)).as_py() or 0):
            return codes, pc.cast(pa.array(distinct), pa.string())
    enc = arr.dictionary_encode()
    if enc.num_chunks == 0:
        return np.zeros(0, dtype=np.int64), pa.array([], pa.string())
    indices = pa.chunked_array([chunk.indices for chunk in enc.chunks], type=enc.type.index_type)
    codes = indices.fill_null(-1).to_numpy().astype(np.int64)
    return codes, enc.chunk(0).dictionary


def sorted_codes(codes: np.ndarray, distinct: pa.Array) -> tuple[np.ndarray, pd.Index]:
    """Recode so that codes follow the sorted ids; returns (codes, sorted ids as a string Index)."""
    order = pc.array_sort_indices(distinct).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    if not len(rank):
        out = np.full(len(codes), -1)
    elif len(codes) and codes.min() >= 0:
        out = rank[codes]
    else:
        out = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1)
    ids = pd.Index(pd.array(distinct.take(pa.array(order)), dtype="string"), dtype="string")
    return out.astype(np.int64), ids


def _decimal_values(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray] | None:
    """(int64 values, valid mask) when every id reads as a number >= 0 (the spelling is checked later), else None."""
    if len(arr) == 0 or arr.null_count == len(arr):
        return None
    sample = arr.slice(0, 1000).drop_null()  # a failed cast is slow: look at a few ids first
    if not pc.all(pc.match_substring_regex(sample, _DECIMAL)).as_py():
        return None
    try:
        ints = pc.cast(arr, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    valid = ~ints.is_null().to_numpy() if ints.null_count else np.ones(len(ints), dtype=bool)
    values = ints.fill_null(0).to_numpy() if ints.null_count else ints.to_numpy()
    if (values < 0).any():
        return None
    return values, valid


def _code_integers(values: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of non-negative integers (-1 where not valid) and the distinct values, by value."""
    present_values = values[valid]
    top = int(present_values.max()) if len(present_values) else -1
    if top < _LOOKUP_LIMIT:
        present = np.zeros(top + 1, dtype=bool)
        present[present_values] = True
        distinct = np.flatnonzero(present)
        table = np.full(top + 1, -1, dtype=np.int64)
        table[distinct] = np.arange(len(distinct))
        codes = np.where(valid, table[np.where(valid, values, 0)], -1)
        return codes.astype(np.int64), distinct
    codes, distinct = pd.factorize(np.where(valid, values, -1), sort=True, use_na_sentinel=False)
    codes = codes.astype(np.int64)
    if (~valid).any():  # -1 sorts first: shift it out of the distinct values
        codes = codes - 1
        distinct = distinct[1:]
        codes[~valid] = -1
    return codes, np.asarray(distinct, dtype=np.int64)
