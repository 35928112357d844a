"""Checking the fact updates a re-gate merges into an offer's stored facts (a pitch drafted, its checks failed).

Each value must be of its fact's type (:data:`crm_core.gate.FACT_FIELDS`) or None,
so that what is stored reads back the same way the pipeline's facts do.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from crm_core.errors import ValidationError
from crm_core.gate import FACT_FIELDS

_KINDS = {name: kind for name, (kind, _) in FACT_FIELDS.items()}


def checked_updates(fact_updates, offer_ids: set[int]) -> dict[int, dict]:
    """``fact_updates`` with offer ids as ints and each value as the stored facts hold it.

    Args:
        fact_updates: offer id -> {fact name: value} (None: no updates).
        offer_ids: the offers being re-gated.
    Returns:
        The checked updates (whole-number facts as int, numbers as float, flags as bool).
    Raises:
        ValidationError: an offer not in ``offer_ids``, an unknown fact name, or a value of the wrong type.
    """
    out: dict[int, dict] = {}
    for offer_id, facts in (fact_updates or {}).items():
        offer_id = int(offer_id)
        if offer_id not in offer_ids:
            raise ValidationError(f"fact_updates names offer {offer_id}, which is not among the offers to re-gate; "
                                  "pass its id in offer_ids too.")
        if not isinstance(facts, Mapping):
            raise ValidationError(f"fact_updates[{offer_id}] must be a dict of fact name -> value.")
        out[offer_id] = {name: _fact_value(offer_id, name, value) for name, value in facts.items()}
    return out


def _fact_value(offer_id: int, name: str, value):
    """One updated fact as the stored facts hold it (None, or a value of the fact's type)."""
    kind = _KINDS.get(name)
    if kind is None:
        raise ValidationError(f"fact_updates[{offer_id}]: unknown fact {name!r}; known facts: {sorted(_KINDS)}.")
    if value is None:
        return None
    ok = {pa.bool_(): isinstance(value, (bool, np.bool_)),
          pa.string(): isinstance(value, str),
          pa.int64(): isinstance(value, (int, np.integer, float, np.floating)) and not isinstance(value, bool)
          and float(value).is_integer(),
          pa.float64(): isinstance(value, (int, np.integer, float, np.floating)) and not isinstance(value, bool)
          and np.isfinite(float(value))}[kind]
    if not ok:
        raise ValidationError(f"fact_updates[{offer_id}]: {name} must be {_WORD[kind]} or None, not {value!r}.")
    if kind == pa.bool_():
        return bool(value)
    if kind == pa.int64():
        return int(value)
    return float(value) if kind == pa.float64() else value


_WORD = {pa.bool_(): "True or False", pa.string(): "text", pa.int64(): "a whole number", pa.float64(): "a number"}
