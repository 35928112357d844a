"""Explanations: a stable code, its parameters, and the plain-English sentence with the numbers.

Codes (one per offer kind and evidence):

- ``REBUY_DUE``: bought n times, last d days ago, usually every i days (the
  customer's own interval, or other customers' when bought once).
- ``REBUY_REPEAT``: bought n times, last d days ago (no usual interval yet).
- ``WINBACK_FAVOURITE``: inactive d days after k orders; bought this n times.
- ``UPSELL_STEP_UP``: a pricier product in a family the customer buys.
- ``CROSS_SELL_COPURCHASE`` / ``NURTURE_COPURCHASE``: x % of the customers
  who bought the anchor product also bought this one.
- ``CROSS_SELL_POPULAR`` / ``NURTURE_POPULAR``: a bestseller of the window.
- ``MANUAL``: chosen by hand (an analyst edited or added the offer): "Chosen
  by <user>: <reason>". The engine never makes it; it is only rendered.

When the offer fills the list from another scenario than the customer's
primary one, the sentence ends with the reason. Parameters and sentences are
built column-wise with Arrow (millions of offers, no Python loop per offer).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_core.json_columns import json_object_array
from crm_core.recommend.params_array import ParamsArray
from crm_core.recommend.settings import SCENARIOS

_PARAMS = {
    "REBUY_DUE": ["product", "times", "days_since", "usual_interval_days"],
    "REBUY_REPEAT": ["product", "times", "days_since"],
    "WINBACK_FAVOURITE": ["product", "times", "days_inactive", "orders"],
    "UPSELL_STEP_UP": ["product", "family", "price", "usual_price", "anchor", "share_pct"],
    "CROSS_SELL_COPURCHASE": ["product", "anchor", "share_pct"],
    "NURTURE_COPURCHASE": ["product", "anchor", "share_pct", "orders"],
    "CROSS_SELL_POPULAR": ["product", "window_orders", "window_days"],
    "NURTURE_POPULAR": ["product", "window_orders", "window_days", "orders"],
}
_COMMON = ["scenario", "primary_scenario", "filled", "match_pct"]
MANUAL = "MANUAL"
MANUAL_PARAMS = ["user", "reason", "product"]  # stored with an offer an analyst edited or added


def explain(o: pd.DataFrame, window_days: int, top_n: int) -> pd.DataFrame:
    """Code, parameters and text for each offer.

    Args:
        o: offers (a frame or a dict of aligned arrays) with ``kind, primary``
            (scenario codes), ``name, family`` (text or categorical),
            ``n, last, interval`` (history), ``anchor_name, share`` (co-purchase),
            ``window_orders, price, usual_price, recency, frequency, score``.
        window_days: the popularity window (for the sentence).
        top_n: offers per customer (for the fill reason).
    Returns:
        A frame aligned with ``o``: ``explanation_code, explanation_params, explanation``.
    """
    kind_code, primary_code = np.asarray(o["kind"]), np.asarray(o["primary"])
    has_anchor = np.asarray(o["share"]) > 0
    has_interval = np.isfinite(np.asarray(o["interval"], dtype=float))
    codes = list(_PARAMS)
    which = np.select(
        [kind_code == SCENARIOS.index("REBUY"), kind_code == SCENARIOS.index("WINBACK"),
         kind_code == SCENARIOS.index("UPSELL"), kind_code == SCENARIOS.index("NURTURE")],
        [np.where(has_interval, codes.index("REBUY_DUE"), codes.index("REBUY_REPEAT")),
         codes.index("WINBACK_FAVOURITE"), codes.index("UPSELL_STEP_UP"),
         np.where(has_anchor, codes.index("NURTURE_COPURCHASE"), codes.index("NURTURE_POPULAR"))],
        default=np.where(has_anchor, codes.index("CROSS_SELL_COPURCHASE"), codes.index("CROSS_SELL_POPULAR")))
    code = np.asarray(codes, dtype=object)[which]
    filled = kind_code != primary_code
    values = {
        "product": _text(o["name"]), "family": _text(o["family"]), "anchor": _text(o["anchor_name"]),
        "times": _whole(o["n"]), "days_since": _whole(o["last"]), "usual_interval_days": _whole(o["interval"]),
        "days_inactive": _whole(o["recency"]), "orders": _whole(o["frequency"]),
        "price": _money(o["price"]), "usual_price": _money(o["usual_price"]),
        "share_pct": _whole(100 * np.asarray(o["share"], dtype=float)),
        "window_orders": _whole(o["window_orders"]), "window_days": _whole(np.full(len(kind_code), int(window_days))),
        "scenario": pa.DictionaryArray.from_arrays(pa.array(kind_code.astype(np.int32)), pa.array(SCENARIOS)),
        "primary_scenario": pa.DictionaryArray.from_arrays(pa.array(primary_code.astype(np.int32)),
                                                           pa.array(SCENARIOS)),
        "filled": pa.array(filled),
        "match_pct": _whole(100 * np.asarray(o["score"], dtype=float)),
    }
    params = pa.table(values)
    parts, texts, positions = [], [], []
    for index, (name, keys) in enumerate(_PARAMS.items()):
        where = np.flatnonzero(which == index)
        if not len(where):
            continue
        keys = keys + _COMMON
        sub = params.select(keys).take(pa.array(where))
        texts.append(json_object_array({k: sub[k] for k in keys}).cast(pa.large_string()))
        sub = pa.table({k: sub[k].cast(pa.string()) if pa.types.is_dictionary(sub[k].type) else sub[k] for k in keys})
        parts.append(_SENTENCES[name](sub, top_n))
        positions.append(where)
    if parts:
        order = pa.array(np.argsort(np.concatenate(positions), kind="stable"))
        text, records = pa.concat_arrays(parts).take(order), pa.concat_arrays(texts).take(order)
    else:
        text, records = pa.array([], pa.string()), pa.array([], pa.large_string())
    return pd.DataFrame({"explanation_code": pd.array(code, dtype="string"),
                         "explanation_params": ParamsArray(records),
                         "explanation": pd.arrays.ArrowStringArray(pa.chunked_array([text], pa.string()))},
                        index=getattr(o, "index", None))


def _text(values) -> pa.Array:
    """Text values; a categorical column is decoded once per category (millions of offers, few products)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = pd.Categorical(values)
        cats = values.categories.astype("string").to_numpy(dtype=object, na_value=None)
        codes = np.asarray(values.codes)
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32), mask=codes < 0),
                                              pa.array(cats, pa.string()))  # decoded after each take
    objects = pd.array(np.asarray(values, dtype=object), dtype="string").to_numpy(dtype=object, na_value=None)
    return pa.array(objects, pa.string())


def _whole(values) -> pa.Array:
    """Rounded whole numbers, null when unknown."""
    a = np.round(np.asarray(values, dtype=float))
    unknown = ~np.isfinite(a)
    return pa.array(np.where(unknown, 0, a).astype(np.int64), pa.int64(), mask=unknown)


def _money(values) -> pa.Array:
    """Amounts rounded to cents, null when unknown."""
    a = np.round(np.asarray(values, dtype=float), 2)
    unknown = ~np.isfinite(a)
    return pa.array(np.where(unknown, 0.0, a), pa.float64(), mask=unknown)


def _join(*pieces) -> pa.Array:
    """Concatenate string arrays and literals row by row; '?' for anything unknown."""
    cols = [p if isinstance(p, str) else p.fill_null("?") for p in pieces]
    out = pc.binary_join_element_wise(*cols, "")
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _str(t: pa.Table, name: str):
    return pc.cast(t[name], pa.string())


def _amount(t: pa.Table, name: str):
    """A money amount with two decimals (e.g. 1234.50)."""
    cents = pc.cast(pc.round(pc.multiply(t[name], 100.0)), pa.int64())
    units = pc.divide(cents, 100)
    frac = pc.utf8_lpad(pc.cast(pc.subtract(cents, pc.multiply(units, 100)), pa.string()), 2, "0")
    return pc.binary_join_element_wise(pc.cast(units, pa.string()), frac, ".")


def _plural(t: pa.Table, name: str, word: str):
    return pc.if_else(pc.equal(t[name], 1), f" {word}", f" {word}s")


def _fill(t: pa.Table, top_n: int):
    reason = _join(" (filled from ", t["scenario"], f": fewer than {top_n} ", t["primary_scenario"], " offers)")
    return pc.if_else(t["filled"], reason, "")


def _copurchase(t: pa.Table):
    return _join(_str(t, "share_pct"), " % of customers who bought ", t["anchor"], " also bought ", t["product"])


def _orders(t: pa.Table):
    return _join(_str(t, "orders"), _plural(t, "orders", "order"))


def _times(t: pa.Table):
    return _join(_str(t, "times"), _plural(t, "times", "time"))


def _rebuy_due(t, n):
    every = pc.if_else(pc.greater_equal(t["times"], 2), "usually every ", "customers rebuy it about every ")
    return _join("Bought ", t["product"], " ", _times(t), ", last ", _str(t, "days_since"), " days ago (", every,
                 _str(t, "usual_interval_days"), " days)", _fill(t, n))


def _rebuy_repeat(t, n):
    return _join("Bought ", t["product"], " ", _times(t), ", last ", _str(t, "days_since"), " days ago", _fill(t, n))


def _winback(t, n):
    return _join("No purchase for ", _str(t, "days_inactive"), " days after ", _orders(t), "; bought ", t["product"],
                 " ", _times(t), " before", _fill(t, n))


def _upsell(t, n):
    extra = pc.if_else(pc.greater(pc.fill_null(t["share_pct"], 0), 0), _join("; ", _copurchase(t)), "")
    return _join("Usually pays ", _amount(t, "usual_price"), " in ", t["family"], "; ", t["product"], " at ",
                 _amount(t, "price"), " is a step up", extra, _fill(t, n))


def _popular(t):
    return _join(t["product"], ": ", _str(t, "window_orders"), " orders in the last ", _str(t, "window_days"), " days")


_SENTENCES = {
    "REBUY_DUE": _rebuy_due,
    "REBUY_REPEAT": _rebuy_repeat,
    "WINBACK_FAVOURITE": _winback,
    "UPSELL_STEP_UP": _upsell,
    "CROSS_SELL_COPURCHASE": lambda t, n: _join(_copurchase(t), _fill(t, n)),
    "NURTURE_COPURCHASE": lambda t, n: _join(_orders(t), " so far; ", _copurchase(t), _fill(t, n)),
    "CROSS_SELL_POPULAR": lambda t, n: _join(_popular(t), _fill(t, n)),
    "NURTURE_POPULAR": lambda t, n: _join(_orders(t), " so far; ", _popular(t), _fill(t, n)),
}


def _manual(t, n):
    reason = pc.fill_null(t["reason"], "")
    return _join("Chosen by ", t["user"], pc.if_else(pc.greater(pc.utf8_length(reason), 0),
                                                     pc.binary_join_element_wise(": ", reason, ""), ""))


_RENDERED = {**_SENTENCES, MANUAL: _manual}  # what render_explanations can render: the engine's codes and MANUAL


# Parameters of text or money; every other parameter is a whole number.
_PARAM_TYPES = {"product": pa.string(), "family": pa.string(), "anchor": pa.string(), "scenario": pa.string(),
                "primary_scenario": pa.string(), "filled": pa.bool_(), "price": pa.float64(),
                "usual_price": pa.float64(), "user": pa.string(), "reason": pa.string()}


def render_explanations(codes, params: list[dict], top_n: int = 3) -> list[str]:
    """Render stored explanations (code + parameters, as kept with each offer) as English text.

    Column-wise and once per code, never once per offer.

    Args:
        codes: explanation codes, one per offer.
        params: the parameter dicts stored with the offers.
        top_n: offers per customer of the run (for the "filled from" reason).
    Returns:
        One sentence per offer, in order.
    """
    codes = np.asarray(list(codes), dtype=object)
    if not len(codes):
        return []
    names = sorted({k for keys in _PARAMS.values() for k in keys} | set(_COMMON) | set(MANUAL_PARAMS))
    records = pd.DataFrame.from_records(params, columns=names)
    table = pa.table({n: _arrow_column(records[n], _PARAM_TYPES.get(n, pa.int64())) for n in names})
    text = np.full(len(codes), "", dtype=object)
    for code, sentence in _RENDERED.items():
        where = np.flatnonzero(codes == code)
        if len(where):
            text[where] = sentence(table.take(pa.array(where)), top_n).to_pylist()
    return text.tolist()


def _arrow_column(values: pd.Series, kind: pa.DataType) -> pa.Array:
    """A stored parameter column in the Arrow type the sentence builders expect (null when unknown)."""
    if kind == pa.string():
        return pa.array(values.astype("string").to_numpy(dtype=object, na_value=None), pa.string())
    if kind == pa.bool_():
        return pa.array(values.astype("boolean").fillna(False).to_numpy(dtype=bool))
    a = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    a = a if kind == pa.float64() else np.round(a)
    unknown = ~np.isfinite(a)
    return pa.array(np.where(unknown, 0, a).astype(kind.to_pandas_dtype()), kind, mask=unknown)
