"""The offers frame's ``explanation_params`` column: a dict per offer, kept as JSON text.

Three million offers' parameters as Python dicts take over a gigabyte; as JSON
text in one Arrow array about a third of that, and storing the run needs that
text anyway. :class:`ParamsArray` is a pandas extension array over the text:
reading an element (``frame["explanation_params"].iloc[0]``, ``.tolist()``,
``.astype(object)``) gives the dict, so the column keeps the contract of
docs/contracts.md (``explanation_params (dict)``); :meth:`ParamsArray.json_texts`
gives the stored text without building a dict.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.extensions import ExtensionArray, ExtensionDtype, register_extension_dtype, take

from crm_core.json_columns import json_records


@register_extension_dtype
class ParamsDtype(ExtensionDtype):
    """Explanation parameters: a dict per offer (None when missing)."""

    name = "explanation_params"
    type = dict
    kind = "O"
    na_value = None

    @classmethod
    def construct_array_type(cls):
        return ParamsArray


class ParamsArray(ExtensionArray):
    """Dicts stored as compact JSON text (``json.dumps`` form, no spaces) in an Arrow array."""

    def __init__(self, texts: pa.Array | pa.ChunkedArray):
        if isinstance(texts, pa.Array):
            texts = pa.chunked_array([texts], texts.type)
        # Chunked: joining the blocks of a run's offers is a list of chunks, not a copy of the text.
        self._texts = texts.cast(pa.large_string()) if texts.type != pa.large_string() else texts

    # ----------------------------------------------------------------- building

    @classmethod
    def from_json(cls, texts) -> "ParamsArray":
        """From JSON object texts (None for a missing value)."""
        return cls(pa.array(texts, pa.large_string()) if not isinstance(texts, (pa.Array, pa.ChunkedArray))
                   else texts)

    @classmethod
    def _from_sequence(cls, scalars, *, dtype=None, copy=False):
        if isinstance(scalars, ParamsArray):
            return scalars.copy() if copy else scalars
        values = list(scalars)
        return cls.from_json([t if isinstance(v, dict) else None for t, v in zip(json_records(values), values)])

    @classmethod
    def _from_factorized(cls, values, original):
        return cls._from_sequence(values)

    @classmethod
    def _concat_same_type(cls, to_concat):
        chunks = [chunk for a in to_concat for chunk in a._texts.chunks]
        return cls(pa.chunked_array(chunks, pa.large_string()))

    # ----------------------------------------------------------------- reading

    def json_texts(self) -> list:
        """The JSON text of every element (None where missing), as stored."""
        return self._texts.to_pylist()

    def __getitem__(self, item):
        if isinstance(item, (int, np.integer)):
            text = self._texts[int(item)].as_py()
            return None if text is None else json.loads(text)
        if isinstance(item, slice):
            return ParamsArray(self._texts[item])
        item = pd.api.indexers.check_array_indexer(self, item)
        if item.dtype == bool:
            return ParamsArray(self._texts.filter(pa.array(item)))
        return self.take(item)

    def __iter__(self):
        for text in self._texts.to_pylist():
            yield None if text is None else json.loads(text)

    def __len__(self) -> int:
        return len(self._texts)

    def __eq__(self, other):
        if isinstance(other, (ParamsArray, list, np.ndarray, pd.Series)):  # element by element
            return np.array([a == b for a, b in zip(self, other)], dtype=bool)
        return np.array([a == other for a in self], dtype=bool)  # each element against one dict

    def __arrow_array__(self, type=None):
        return self._texts

    def __array__(self, dtype=None, copy=None):
        out = np.empty(len(self), dtype=object)
        out[:] = list(self)
        return out

    @property
    def dtype(self) -> ParamsDtype:
        return ParamsDtype()

    @property
    def nbytes(self) -> int:
        return self._texts.nbytes

    def isna(self) -> np.ndarray:
        return np.asarray(self._texts.is_null().to_numpy(), dtype=bool)

    def take(self, indices, *, allow_fill=False, fill_value=None):
        positions = np.asarray(indices, dtype=np.int64)
        if allow_fill:
            if (positions < -1).any():
                raise ValueError("take: positions below -1 with allow_fill")
            missing = positions == -1
            if fill_value is not None:  # a dict to put where -1: rare, through Python
                return ParamsArray._from_sequence(take(np.asarray(self, dtype=object), positions, allow_fill=True,
                                                       fill_value=fill_value))
            kept = np.flatnonzero(~missing)
            at = np.zeros(len(positions), dtype=np.int64)
            at[kept] = np.arange(len(kept))
            return ParamsArray(_gather(self._texts, positions[kept]).take(pa.array(at, mask=missing)))
        positions = np.where(positions < 0, positions + len(self), positions)
        if len(positions) and (positions.min() < 0 or positions.max() >= len(self)):
            raise IndexError("take: position out of bounds")
        return ParamsArray(_gather(self._texts, positions))

    def copy(self) -> "ParamsArray":
        return ParamsArray(self._texts)  # Arrow arrays are immutable: sharing them is a copy

    def _values_for_factorize(self):
        out = np.asarray(self._texts.to_pylist(), dtype=object)
        return out, None

    def _formatter(self, boxed: bool = False):
        return repr


def _gather(texts: pa.ChunkedArray, positions: np.ndarray) -> pa.Array:
    """``texts[positions]``, chunk by chunk: Arrow's take on a chunked array joins all the chunks first
    (a run's offers are one chunk per block of customers: half a gigabyte copied for every batch stored)."""
    if texts.num_chunks <= 1 or len(positions) == 0:
        return texts.take(pa.array(positions, pa.int64())).combine_chunks()
    starts = np.cumsum([0] + [len(chunk) for chunk in texts.chunks])
    chunk_of = np.searchsorted(starts, positions, side="right") - 1
    order = np.argsort(chunk_of, kind="stable")
    bounds = np.searchsorted(chunk_of[order], np.arange(texts.num_chunks + 1))
    parts = [texts.chunk(k).take(pa.array(positions[order[bounds[k]:bounds[k + 1]]] - starts[k]))
             for k in range(texts.num_chunks) if bounds[k + 1] > bounds[k]]
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return pa.concat_arrays(parts).take(pa.array(inverse))
