"""Scenarios: the primary one per customer, and the kind of each candidate.

Primary scenario, first rule that applies (thresholds in RecommendConfig):

1. NURTURE: new (first purchase within ``new_customer_days``) or one-off
   (at most ``nurture_max_frequency`` invoices);
2. WINBACK: valuable (net spend at or above the ``winback_value_quantile``)
   but inactive for ``winback_inactive_days`` or more;
3. REBUY: a replenishable product is due (days since its last purchase have
   reached ``due_factor`` x the customer's usual interval for it);
4. UPSELL: high spender (net spend at or above the ``upsell_value_quantile``);
5. CROSS_SELL: every other customer.

Each candidate has its own kind: a replenishable product bought before is a
REBUY; a new product pricier than what the customer usually pays in a family
they buy is an UPSELL; other new products are CROSS_SELL (NURTURE for new
customers); for WINBACK customers their past products are WINBACK. A
candidate of the primary scenario fits fully; another kind fills the list
from the next-best scenario at a lower fit (``fill_fit``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_core.recommend.settings import SCENARIOS, RecommendConfig

REBUY, CROSS_SELL, UPSELL, WINBACK, NURTURE = range(5)


def primary_scenarios(history, offerable: np.ndarray, config: RecommendConfig) -> pd.DataFrame:
    """The primary scenario of every customer of ``history``.

    Args:
        history: :class:`~crm_core.recommend.history.History`.
        offerable: bool per product code.
        config: thresholds.
    Returns:
        A frame indexed by customer code with ``scenario`` (code 0..4, see
        SCENARIOS), ``frequency, first, recency, monetary, due_products``.
    """
    cust = history.customers.copy()
    pairs = history.pairs
    interval = (pairs["first"] - pairs["last"]) / (pairs["n"] - 1).clip(lower=1)
    due = ((pairs["n"] >= 2) & ~pairs["held"] & offerable[pairs["p"].to_numpy()]
           & (pairs["last"] >= config.due_factor * interval))
    cust["due_products"] = due.groupby(pairs["c"]).sum().reindex(cust.index).fillna(0).astype(np.int64)
    money = cust["monetary"]
    valuable = money >= money.quantile(config.winback_value_quantile) if len(money) else money > 0
    high = money >= money.quantile(config.upsell_value_quantile) if len(money) else money > 0
    nurture = (cust["frequency"] <= config.nurture_max_frequency) | (cust["first"] <= config.new_customer_days)
    winback = (cust["recency"] >= config.winback_inactive_days) & valuable
    cust["scenario"] = np.select([nurture, winback, cust["due_products"] > 0, high],
                                 [NURTURE, WINBACK, REBUY, UPSELL], default=CROSS_SELL).astype(np.int64)
    return cust


def candidate_kinds(cand: pd.DataFrame, primary: np.ndarray, family: np.ndarray, price: np.ndarray,
                    history, config: RecommendConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kind, scenario fit and keep-mask of each candidate.

    Args:
        cand: candidate pairs ``c, p, hist, n, first, last``.
        primary: primary scenario code per candidate (of its customer).
        family: family code per product code.
        price: price per product code (NaN unknown).
        history: the History of the day (repeat rates, usual intervals, pairs).
        config: thresholds.
    Returns:
        (kind code per candidate, scenario fit in [0, 1], bool mask of the
        candidates to keep: a product bought before is offered again only
        when replenishable (REBUY) or as a WINBACK favourite, and never within
        ``recent_exclusion_days`` of its purchase unless it is a REBUY).
    """
    p = cand["p"].to_numpy()
    hist = cand["hist"].to_numpy(dtype=bool)
    n = cand["n"].to_numpy(dtype=float)
    last = cand["last"].to_numpy(dtype=float)
    first = cand["first"].to_numpy(dtype=float)
    own = np.where(n >= 2, (first - last) / np.maximum(n - 1, 1), np.nan)
    usual = np.where(np.isnan(own), history.usual_interval[p], own)
    replenishable = (n >= 2) | (history.repeat_rate[p] >= config.replenish_min_repeat_rate)
    due_ratio = np.where(np.isfinite(usual) & (usual > 0), last / (config.due_factor * np.where(usual > 0, usual, 1)), 0.0)

    step_up = _is_step_up(cand, family, price, history, config)
    kind = np.where(step_up, UPSELL, CROSS_SELL)
    kind = np.where(~hist & (primary == NURTURE), NURTURE, kind)
    kind = np.where(hist, REBUY, kind)
    kind = np.where(hist & (primary == WINBACK), WINBACK, kind)
    keep = ~(hist & ~replenishable & (primary != WINBACK))
    keep &= ~(hist & (kind != REBUY) & (last < config.recent_exclusion_days))
    kind_fit = np.where(kind == REBUY, np.clip(due_ratio, 0.0, 1.0), 1.0)
    fit = np.where(kind == primary, kind_fit, config.fill_fit * kind_fit)
    return kind.astype(np.int64), fit, keep


def _is_step_up(cand: pd.DataFrame, family: np.ndarray, price: np.ndarray, history, config) -> np.ndarray:
    """New products priced at least ``upsell_price_ratio`` x the customer's usual price in that family."""
    pairs = history.pairs
    fam_of_pair = family[pairs["p"].to_numpy()]
    usual = pd.DataFrame({"c": pairs["c"].to_numpy(), "f": fam_of_pair, "price": price[pairs["p"].to_numpy()]}) \
        .dropna().groupby(["c", "f"])["price"].mean()
    if usual.empty:
        return np.zeros(len(cand), dtype=bool)
    key = pd.MultiIndex.from_arrays([cand["c"].to_numpy(), family[cand["p"].to_numpy()]])
    paid = usual.reindex(key).to_numpy(dtype=float)
    offered = price[cand["p"].to_numpy()]
    with np.errstate(invalid="ignore"):
        return (~cand["hist"].to_numpy(dtype=bool)) & np.isfinite(paid) & (offered >= config.upsell_price_ratio * paid)


def scenario_names(codes: np.ndarray) -> np.ndarray:
    """Scenario codes (0..4) to their stable names."""
    return np.asarray(SCENARIOS, dtype=object)[codes]
