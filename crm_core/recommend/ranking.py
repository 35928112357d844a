"""From candidate pairs to each customer's top offers: kinds, score components, weighted score, diversity.

One home for the ranking, shared by the engine (every customer, block by
block) and the calibration backtest (a sample of customers, once per blend).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from crm_core.recommend.diversity import top_offers
from crm_core.recommend.scenarios import FamilyPrices, candidate_kinds, primary_scenarios
from crm_core.recommend.scoring import relative_affinity, weighted_score
from crm_core.recommend.settings import RecommendConfig


@dataclass(frozen=True)
class RankingTables:
    """Per-customer and per-product facts the ranking needs, computed once per history and config.

    Attributes:
        primary_of: primary scenario code per customer code (0 for customers without history).
        family_codes, price: per product code.
        usual: each customer's usual price per family.
        popularity, profit: the score components per product code (None: no data).
    """

    primary_of: np.ndarray
    family_codes: np.ndarray
    price: np.ndarray
    usual: FamilyPrices
    popularity: np.ndarray | None
    profit: np.ndarray | None

    def with_primary(self, history, offerable: np.ndarray, n_customers: int, config: RecommendConfig
                     ) -> "RankingTables":
        """The same tables with the primary scenarios of ``config``'s thresholds."""
        return RankingTables(primary_codes(history, offerable, n_customers, config), self.family_codes, self.price,
                             self.usual, self.popularity, self.profit)


def primary_codes(history, offerable: np.ndarray, n_customers: int, config: RecommendConfig) -> np.ndarray:
    """Primary scenario code per customer code (``n_customers`` long; 0 where there is no history)."""
    scen = primary_scenarios(history, offerable, config)
    primary_of = np.zeros(n_customers, dtype=np.int64)
    primary_of[scen.index.to_numpy()] = scen["scenario"].to_numpy()
    return primary_of


def choose_offers(cand: dict[str, np.ndarray], tables: RankingTables, history, config: RecommendConfig,
                  probability: Callable[[dict], np.ndarray]) -> dict[str, np.ndarray]:
    """The chosen candidates of some customers, with their score components and rank.

    Args:
        cand: :func:`~crm_core.recommend.candidates.candidate_pairs` output (non-empty).
        tables: the :class:`RankingTables` of the day.
        history: the History the candidates come from.
        config: thresholds, weights and ``top_n``.
        probability: the purchase model's probability of each kept candidate (called once,
            on the candidates left after the scenario rules).
    Returns:
        The chosen candidates' arrays (``c, p, kind, fit, prob`` and the rest of ``cand``), the
        components ``affinity, popularity, profit, scenario_fit`` (NaN without data), ``score``
        and ``rank``, ordered by customer then rank.
    """
    cand = dict(cand)
    cand["primary"] = tables.primary_of[cand["c"]]
    cand["kind"], cand["fit"], keep = candidate_kinds(cand, cand["primary"], tables.family_codes, tables.price,
                                                      history, config, tables.usual)
    if not keep.all():  # dropped before the purchase model: it scores each pair on its own
        cand = {name: values[keep] for name, values in cand.items()}
    cand["prob"] = probability(cand)
    c, p = cand["c"], cand["p"]
    components = {"affinity": relative_affinity(c, cand["prob"]),
                  "popularity": None if tables.popularity is None else tables.popularity[p],
                  "profit": None if tables.profit is None else tables.profit[p],
                  "scenario_fit": cand["fit"]}
    score, _ = weighted_score(components, config)
    chosen, rank = top_offers(c, tables.family_codes[p], p, score, config.top_n)
    o = {name: values[chosen] for name, values in cand.items()}
    for name, values in components.items():
        o[name] = np.full(len(chosen), np.nan) if values is None else values[chosen]
    o["score"] = score[chosen]
    o["rank"] = rank
    return o
