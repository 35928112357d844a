"""The calibration backtest: a sample of customers ranked at the learning window's start, checked at its end.

Definitions follow :mod:`crm_core.recommend.evaluate`, on the engine's coded
lines: the truth is what customers known at the start (a sale or holding on
or before it) bought after it up to the as-of date (banks: the products
opened); the *new* track keeps the products the customer neither bought nor
held before. Baselines: *popularity*, the top N products by distinct
invoices in the popularity window before the start, ties by product id (new
track: the top N the customer never bought); *repeat*, the customer's N
products with most invoices, ties by most recent then product id, filled
from the top N bestsellers. Products outside the catalog cannot be coded and
are left out of truth and baselines alike.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from crm_core.recommend.candidates import candidate_pairs
from crm_core.recommend.engine import PreparedEngine, ranking_tables
from crm_core.recommend.history import History
from crm_core.recommend.learning import window_purchases
from crm_core.recommend.ranking import RankingTables, choose_offers
from crm_core.recommend.settings import RecommendConfig

# Settings that change customers' primary scenarios (the other blend settings act on candidates).
_PRIMARY_FIELDS = ("due_factor", "nurture_max_frequency", "new_customer_days", "winback_inactive_days",
                   "winback_value_quantile", "upsell_value_quantile")


@dataclass(frozen=True)
class BlendHits:
    """Per customer, whether a blend's offers were bought: ``all`` over the sample, ``new`` over its new track."""

    all: np.ndarray
    new: np.ndarray


@dataclass
class Backtest:
    """A sample of customers at the learning window's start, their candidates and what they bought since.

    Attributes:
        start, day: the window (day numbers).
        rows: sampled customer codes (sorted), each of whom bought in the window.
        eligible: customers who bought in the window, before sampling.
        new_customers: bool per row: bought a product new to them in the window.
        baselines: hit-rates ``{"all": {"repeat", "popularity"}, "new": {"popularity"}}`` on the sample.
    """

    start: int
    day: int
    rows: np.ndarray
    eligible: int
    new_customers: np.ndarray
    baselines: dict
    history: History
    truth: np.ndarray
    truth_new: np.ndarray
    width: int
    cand_all: dict
    cand_new: dict
    engine: PreparedEngine
    tables: dict = dataclasses.field(default_factory=dict)

    def best_baseline(self, track: str) -> float:
        """The best baseline's hit-rate on a track (0 when none)."""
        return max([v for v in self.baselines[track].values() if v is not None], default=0.0)

    def tables_for(self, config: RecommendConfig) -> RankingTables:
        """The ranking tables under ``config``'s scenario thresholds (primary scenarios once per distinct set)."""
        key = tuple(getattr(config, f) for f in _PRIMARY_FIELDS)
        if key not in self.tables:
            e = self.engine
            if not self.tables:
                self.tables[key] = ranking_tables(self.history, e.catalog, e.offerable, len(e.lines.customers), config)
            else:
                self.tables[key] = next(iter(self.tables.values())).with_primary(
                    self.history, e.offerable, len(e.lines.customers), config)
        return self.tables[key]


def backtest_of(engine: PreparedEngine) -> Backtest:
    """The backtest of an engine prepared with its learning data (``engine.learning`` is not None)."""
    learned, cfg, lines = engine.learning, engine.config, engine.lines
    past, width = learned.history, len(lines.products) + 1
    h = lines.holdings
    if len(h):  # banks: a hit is a product opened in the window
        opened = h[(h["opened"] > learned.start) & (h["opened"] <= learned.day)]
        c, p = opened["c"].to_numpy(np.int64), opened["p"].to_numpy(np.int64)
    else:
        c, p = window_purchases(lines, learned.start, learned.day)
    known = np.zeros(len(lines.customers) + 1, dtype=bool)
    known[past.customers.index.to_numpy()] = True
    keys = np.unique(c[known[c]] * width + p[known[c]])
    buyers = np.unique(keys // width)
    rows = buyers
    if len(buyers) > cfg.calibration_customers:
        rng = np.random.default_rng(cfg.seed)
        rows = np.sort(rng.choice(buyers, size=cfg.calibration_customers, replace=False))
    keys = keys[_member(keys // width, rows)]
    pairs = past.pairs
    mine = pairs[_member(pairs["c"].to_numpy(), rows)].reset_index(drop=True)
    history = dataclasses.replace(past, pairs=mine)
    before = np.sort(mine["c"].to_numpy(np.int64) * width + mine["p"].to_numpy(np.int64))
    truth_new = keys[~_member(keys, before)]
    new_customers = _member(rows, np.unique(truth_new // width))
    cand_all, cand_new = ({}, {}) if len(rows) == 0 else (
        _candidates(engine, history, rows, False), _candidates(engine, history, rows, True))
    baselines = _baselines(history, rows, keys, truth_new, new_customers, before, width, cfg.top_n)
    return Backtest(learned.start, learned.day, rows, int(len(buyers)), new_customers, baselines, history, keys,
                    truth_new, width, cand_all, cand_new, engine)


def blend_hits(bt: Backtest, config: RecommendConfig) -> BlendHits:
    """Which sampled customers bought one of the offers ranked with ``config``."""
    tables = bt.tables_for(config)
    hits = []
    for cand, truth in ((bt.cand_all, bt.truth), (bt.cand_new, bt.truth_new)):
        if len(bt.rows) == 0 or len(cand["c"]) == 0:
            hits.append(np.zeros(len(bt.rows), dtype=bool))
            continue
        o = choose_offers(cand, tables, bt.history, config, lambda kept: kept["prob_all"])
        hits.append(_hit(o["c"], o["p"], bt.rows, truth, bt.width))
    return BlendHits(hits[0], hits[1][bt.new_customers])


def _candidates(engine: PreparedEngine, history: History, rows: np.ndarray, exclude_bought: bool) -> dict:
    """Candidate pairs of the sample with their purchase probabilities (key ``prob_all``)."""
    learned = engine.learning
    cand = candidate_pairs(history, learned.item_model, engine.offerable, rows, engine.config,
                           exclude_bought=exclude_bought)
    cand["prob_all"] = engine.purchase_model.predict_pairs(cand, history, learned.adoption, engine.cluster_of)
    return cand


def _hit(c: np.ndarray, p: np.ndarray, rows: np.ndarray, truth: np.ndarray, width: int) -> np.ndarray:
    """Per row (customer code), whether one of the offers (c, p) is in the truth keys."""
    c = np.asarray(c, dtype=np.int64)
    hit = _member(c * width + np.asarray(p, dtype=np.int64), truth)
    out = np.zeros(len(rows), dtype=bool)
    out[np.searchsorted(rows, c[hit])] = True
    return out


def _baselines(history: History, rows: np.ndarray, truth: np.ndarray, truth_new: np.ndarray,
               new_customers: np.ndarray, before: np.ndarray, width: int, n: int) -> dict:
    """Hit-rates of the popularity and repeat baselines on the sample."""
    if len(rows) == 0:
        return {"all": {"repeat": None, "popularity": None}, "new": {"popularity": None}}
    pop = history.popularity
    codes = np.flatnonzero(pop > 0)
    ranking = codes[np.lexsort((codes, -pop[codes]))]
    popular_c, popular_p = _cross(rows, ranking[:n])
    repeat_c, repeat_p = _repeat(history, rows, ranking[:n], n)
    unbought_c, unbought_p = _popular_unbought(rows[new_customers], ranking, before, width, n)
    new_rows = rows[new_customers]
    return {"all": {"repeat": _share(_hit(repeat_c, repeat_p, rows, truth, width)),
                    "popularity": _share(_hit(popular_c, popular_p, rows, truth, width))},
            "new": {"popularity": _share(_hit(unbought_c, unbought_p, new_rows, truth_new, width))}}


def _share(hit: np.ndarray) -> float | None:
    return round(float(hit.mean()), 6) if len(hit) else None


def _cross(rows: np.ndarray, products: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every row paired with every product."""
    return np.repeat(rows, len(products)), np.tile(products, len(rows))


def _repeat(history: History, rows: np.ndarray, top: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's n products with most invoices (then most recent, then code), filled from ``top``."""
    pairs = history.pairs
    c, p = pairs["c"].to_numpy(np.int64), pairs["p"].to_numpy(np.int64)
    order = np.lexsort((p, pairs["last"].to_numpy(), -pairs["n"].to_numpy(), c))
    c, p = c[order], p[order]
    own = _rank_within(c) < n
    c, p = c[own], p[own]
    fill_c, fill_p = _cross(rows, top)
    width = int(max(p.max(initial=0), top.max(initial=0))) + 1
    fresh = ~_member(fill_c * width + fill_p, np.sort(c * width + p))
    fill_c, fill_p = fill_c[fresh], fill_p[fresh]
    owned = np.zeros(len(rows), dtype=np.int64)
    np.add.at(owned, np.searchsorted(rows, c), 1)
    room = _rank_within(fill_c) < n - owned[np.searchsorted(rows, fill_c)]
    return np.concatenate([c, fill_c[room]]), np.concatenate([p, fill_p[room]])


def _popular_unbought(rows: np.ndarray, ranking: np.ndarray, before: np.ndarray, width: int, n: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per customer, the n best-ranked products they never bought or held."""
    depth = n
    while True:
        depth = min(len(ranking), depth * 4)
        c, p = _cross(rows, ranking[:depth])
        fresh = ~_member(c * width + p, before)
        c, p = c[fresh], p[fresh]
        enough = np.bincount(np.searchsorted(rows, c), minlength=len(rows)) >= n
        if depth >= len(ranking) or enough.all():
            break
    keep = _rank_within(c) < n
    return c[keep], p[keep]


def _member(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_keys)`` for sorted keys, by binary search (no hashing, no sort of ``values``)."""
    if len(sorted_keys) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[at] == values


def _rank_within(sorted_codes: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal (sorted) codes, from 0."""
    if len(sorted_codes) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    return np.arange(len(sorted_codes)) - np.repeat(starts, np.diff(np.r_[starts, len(sorted_codes)]))
