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
    due_count = np.bincount(pairs["c"].to_numpy()[due.to_numpy()], minlength=int(cust.index.max()) + 1 if len(cust)
                            else 0)
    cust["due_products"] = due_count[cust.index.to_numpy()].astype(np.int64)
    money = cust["monetary"]
    valuable = money >= money.quantile(config.winback_value_quantile) if len(money) else money > 0
    high = money >= money.quantile(config.upsell_value_quantile) if len(money) else money > 0
    nurture = (cust["frequency"] <= config.nurture_max_frequency) | (cust["first"] <= config.new_customer_days)
    winback = (cust["recency"] >= config.winback_inactive_days) & valuable
    cust["scenario"] = np.select([nurture, winback, cust["due_products"] > 0, high],
                                 [NURTURE, WINBACK, REBUY, UPSELL], default=CROSS_SELL).astype(np.int64)
    return cust


def candidate_kinds(cand, primary: np.ndarray, family: np.ndarray, price: np.ndarray,
                    history, config: RecommendConfig, usual_prices: "FamilyPrices | None" = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kind, scenario fit and keep-mask of each candidate.

    Args:
        cand: candidate pairs ``c, p, hist, n, first, last`` (a frame or a dict of arrays).
        primary: primary scenario code per candidate (of its customer).
        family: family code per product code.
        price: price per product code (NaN unknown).
        history: the History of the day (repeat rates, usual intervals, pairs).
        config: thresholds.
        usual_prices: :func:`family_prices` of the history (computed when None).
    Returns:
        (kind code per candidate, scenario fit in [0, 1], bool mask of the
        candidates to keep: a product bought before is offered again only
        when replenishable (REBUY) or as a WINBACK favourite, and never within
        ``recent_exclusion_days`` of its purchase unless it is a REBUY).
    """
    p = np.asarray(cand["p"])
    hist = np.asarray(cand["hist"], dtype=bool)
    n = np.asarray(cand["n"], dtype=float)
    last = np.asarray(cand["last"], dtype=float)
    first = np.asarray(cand["first"], dtype=float)
    own = np.where(n >= 2, (first - last) / np.maximum(n - 1, 1), np.nan)
    usual = np.where(np.isnan(own), history.usual_interval[p], own)
    replenishable = (n >= 2) | (history.repeat_rate[p] >= config.replenish_min_repeat_rate)
    due_ratio = np.where(np.isfinite(usual) & (usual > 0),
                         last / (config.due_factor * np.where(usual > 0, usual, 1)), 0.0)

    usual_prices = usual_prices if usual_prices is not None else family_prices(history, family, price)
    step_up = _is_step_up(cand, family, price, usual_prices, config)
    kind = np.where(step_up, UPSELL, CROSS_SELL)
    kind = np.where(~hist & (primary == NURTURE), NURTURE, kind)
    kind = np.where(hist, REBUY, kind)
    kind = np.where(hist & (primary == WINBACK), WINBACK, kind)
    keep = ~(hist & ~replenishable & (primary != WINBACK))
    keep &= ~(hist & (kind != REBUY) & (last < config.recent_exclusion_days))
    kind_fit = np.where(kind == REBUY, np.clip(due_ratio, 0.0, 1.0), 1.0)
    fit = np.where(kind == primary, kind_fit, config.fill_fit * kind_fit)
    return kind.astype(np.int64), fit, keep


def _is_step_up(cand, family: np.ndarray, price: np.ndarray, usual_prices: "FamilyPrices",
                config) -> np.ndarray:
    """New products priced at least ``upsell_price_ratio`` x the customer's usual price in that family."""
    p = np.asarray(cand["p"])
    paid = usual_prices.lookup(np.asarray(cand["c"]), family[p])
    offered = price[p]
    with np.errstate(invalid="ignore"):
        step_up = offered >= config.upsell_price_ratio * paid
        return (~np.asarray(cand["hist"], dtype=bool)) & np.isfinite(paid) & step_up


class FamilyPrices:
    """Each customer's mean catalog price over the products they bought or hold, per family.

    Args:
        c, f, price: customer code, family code and price of each (customer,
            product) pair; pairs with an unknown price are ignored.
    """

    _DENSE_CELLS = 16_000_000  # customers x families kept as one table up to this size

    def __init__(self, c: np.ndarray, f: np.ndarray, price: np.ndarray):
        ok = np.isfinite(price)
        c, f, price = c[ok].astype(np.int64), f[ok].astype(np.int64), price[ok]
        self.families = int(f.max()) + 1 if len(f) else 1
        key = c * self.families + f
        size = (int(c.max()) + 1) * self.families if len(key) else 0
        # A table no sparser than the pairs (a sample of customers, a product per family is not): keys otherwise.
        if len(key) and size <= self._DENSE_CELLS and size <= 16 * len(key):
            total = np.bincount(key, weights=price, minlength=size)
            count = np.bincount(key, minlength=size)
            self.keys = None
            self.mean = np.divide(total, count, out=np.full(size, np.nan), where=count > 0)
        else:
            self.keys, where = np.unique(key, return_inverse=True)
            total = np.bincount(where, weights=price, minlength=len(self.keys))
            self.mean = total / np.maximum(np.bincount(where, minlength=len(self.keys)), 1)

    def lookup(self, c: np.ndarray, f: np.ndarray) -> np.ndarray:
        """The usual price of each (customer, family), NaN when the customer bought nothing priced in it."""
        key = c.astype(np.int64) * self.families + f
        out = np.full(len(key), np.nan)
        if self.keys is None:
            ok = (f < self.families) & (key < len(self.mean))
            out[ok] = self.mean[key[ok]]
        elif len(self.keys):
            at = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
            hit = (self.keys[at] == key) & (f < self.families)
            out[hit] = self.mean[at[hit]]
        return out


def family_prices(history, family: np.ndarray, price: np.ndarray) -> FamilyPrices:
    """:class:`FamilyPrices` of the history's pairs (family and price per product code)."""
    pairs = history.pairs
    p = pairs["p"].to_numpy()
    return FamilyPrices(pairs["c"].to_numpy(), family[p], price[p])


def scenario_names(codes: np.ndarray) -> np.ndarray:
    """Scenario codes (0..4) to their stable names."""
    return np.asarray(SCENARIOS, dtype=object)[codes]
