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

When the offer fills the list from another scenario than the customer's
primary one, the sentence ends with the reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def explain(o: pd.DataFrame, window_days: int, top_n: int) -> pd.DataFrame:
    """Code, parameters and text for each offer.

    Args:
        o: offers with ``kind, primary`` (scenario codes), ``name, family``,
            ``n, last, interval`` (history), ``anchor_name, share`` (co-purchase),
            ``window_orders, price, usual_price, recency, frequency, score``.
        window_days: the popularity window (for the sentence).
        top_n: offers per customer (for the fill reason).
    Returns:
        A frame aligned with ``o``: ``explanation_code, explanation_params, explanation``.
    """
    kind = np.asarray(SCENARIOS, dtype=object)[o["kind"].to_numpy()]
    primary = np.asarray(SCENARIOS, dtype=object)[o["primary"].to_numpy()]
    has_anchor = o["share"].to_numpy() > 0
    has_interval = np.isfinite(o["interval"].to_numpy(dtype=float))
    code = np.select(
        [kind == "REBUY", kind == "WINBACK", kind == "UPSELL", has_anchor],
        [np.where(has_interval, "REBUY_DUE", "REBUY_REPEAT"), "WINBACK_FAVOURITE", "UPSELL_STEP_UP",
         np.char.add(kind.astype(str), "_COPURCHASE")],
        default=np.char.add(kind.astype(str), "_POPULAR")).astype(object)
    params = pd.DataFrame({
        "product": o["name"].astype("string").to_numpy(dtype=object),
        "family": o["family"].astype("string").to_numpy(dtype=object),
        "times": o["n"].to_numpy(dtype=np.int64),
        "days_since": o["last"].to_numpy(dtype=np.int64),
        "usual_interval_days": np.round(o["interval"].to_numpy(dtype=float)),
        "days_inactive": o["recency"].to_numpy(dtype=np.int64),
        "orders": o["frequency"].to_numpy(dtype=np.int64),
        "price": np.round(o["price"].to_numpy(dtype=float), 2),
        "usual_price": np.round(o["usual_price"].to_numpy(dtype=float), 2),
        "anchor": o["anchor_name"].astype("string").to_numpy(dtype=object),
        "share_pct": np.round(100 * o["share"].to_numpy(dtype=float)),
        "window_orders": o["window_orders"].to_numpy(dtype=np.int64),
        "window_days": np.full(len(o), int(window_days)),
        "scenario": kind, "primary_scenario": primary, "filled": kind != primary,
        "match_pct": np.round(100 * o["score"].to_numpy(dtype=float)),
    }, index=o.index)
    text = _render(code, params, top_n)
    records = _records(code, params)
    return pd.DataFrame({"explanation_code": pd.array(code, dtype="string"),
                         "explanation_params": records, "explanation": pd.array(text, dtype="string")},
                        index=o.index)


def _render(code: np.ndarray, p: pd.DataFrame, top_n: int) -> np.ndarray:
    """The English sentences, built column-wise (no loop over offers)."""
    s = {k: p[k].astype(str) for k in ("product", "family", "anchor", "primary_scenario", "scenario")}
    num = {k: _whole(p[k]) for k in ("times", "days_since", "usual_interval_days", "days_inactive", "orders",
                                       "share_pct", "window_orders", "window_days")}
    money = {k: pd.Series(np.char.mod("%.2f", p[k].to_numpy(dtype=float)), index=p.index)
             for k in ("price", "usual_price")}
    times = num["times"] + np.where(p["times"] == 1, " time", " times")
    orders = num["orders"] + np.where(p["orders"] == 1, " order", " orders")
    copurchase = num["share_pct"] + " % of customers who bought " + s["anchor"] + " also bought " + s["product"]
    popular = s["product"] + ": " + num["window_orders"] + " orders in the last " + num["window_days"] + " days"
    out = np.select(
        [code == "REBUY_DUE", code == "REBUY_REPEAT", code == "WINBACK_FAVOURITE", code == "UPSELL_STEP_UP",
         code == "CROSS_SELL_COPURCHASE", code == "NURTURE_COPURCHASE", code == "CROSS_SELL_POPULAR"],
        ["Bought " + s["product"] + " " + times + ", last " + num["days_since"] + " days ago ("
         + np.where(p["times"] >= 2, "usually every ", "customers rebuy it about every ")
         + num["usual_interval_days"] + " days)",
         "Bought " + s["product"] + " " + times + ", last " + num["days_since"] + " days ago",
         "No purchase for " + num["days_inactive"] + " days after " + orders + "; bought " + s["product"] + " "
         + times + " before",
         "Usually pays " + money["usual_price"] + " in " + s["family"] + "; " + s["product"] + " at "
         + money["price"] + " is a step up" + np.where(p["share_pct"] > 0, "; " + copurchase, ""),
         copurchase,
         "New customer (" + orders + "); " + copurchase,
         popular],
        default="New customer (" + orders + "); " + popular).astype(object)
    fill = np.where(p["filled"], " (filled from " + s["scenario"] + ": fewer than " + str(top_n) + " "
                    + s["primary_scenario"] + " offers)", "")
    return np.char.add(out.astype(str), fill.astype(str)).astype(object)


def _whole(values: pd.Series) -> pd.Series:
    """Whole numbers as text, '?' when unknown."""
    v = pd.Series(values.to_numpy(dtype=float), index=values.index).round()
    return v.astype("Int64").astype("string").fillna("?").astype(object)


def _records(code: np.ndarray, p: pd.DataFrame) -> list[dict]:
    """One JSON-safe dict of the parameters each code uses."""
    out: list[dict] = [None] * len(p)  # type: ignore[list-item]
    positions = np.arange(len(p))
    for name, keys in _PARAMS.items():
        where = positions[code == name]
        if not len(where):
            continue
        sub = p.iloc[where][keys + _COMMON]
        for i, rec in zip(where, sub.to_dict("records")):
            out[i] = {k: _plain(v) for k, v in rec.items()}
    return out


def _plain(v):
    """numpy scalars to Python, NaN to None."""
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if v != v else (int(v) if float(v).is_integer() else float(v))
    if v is pd.NA:
        return None
    return v


def render_explanations(codes, params: list[dict], top_n: int = 3) -> list[str]:
    """Render stored explanations (code + parameters, as kept with each offer) as English text.

    Args:
        codes: explanation codes, one per offer.
        params: the parameter dicts stored with the offers (``explanation_params``).
        top_n: offers per customer of the run (for the "filled from" reason).
    Returns:
        One sentence per offer, in order.
    """
    if not len(params):
        return []
    frame = pd.DataFrame.from_records([p or {} for p in params])
    defaults = {"product": "?", "family": "?", "anchor": "?", "scenario": "", "primary_scenario": "",
                "filled": False, "price": np.nan, "usual_price": np.nan}
    for key in {k for keys in _PARAMS.values() for k in keys} | set(_COMMON):
        if key not in frame.columns:
            frame[key] = defaults.get(key, np.nan)
    frame["filled"] = frame["filled"].fillna(False).astype(bool)
    return list(_render(np.asarray(list(codes), dtype=object), frame, top_n))
