"""The offer engine: from transactions to the offers frame of docs/contracts.md.

``recommend`` is the public entry. :func:`prepare` does the work that does
not depend on the exclusions (catalog, history, item-item model, purchase
model) so that the offline evaluation can rank the same prepared engine twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from crm_core.memory import release_freed
from crm_core.recommend.affinity import ItemItemModel, cluster_adoption
from crm_core.recommend.candidates import candidate_pairs
from crm_core.recommend.catalog import build_catalog
from crm_core.recommend.explain import explain
from crm_core.recommend.history import CodedLines, History, code_lines, day_number, day_numbers, history_as_of
from crm_core.recommend.learning import LearningData, fit_purchase_model, learning_days
from crm_core.recommend.params_array import ParamsArray
from crm_core.recommend.propensity import PurchaseModel
from crm_core.recommend.ranking import RankingTables, choose_offers, primary_codes
from crm_core.recommend.scenarios import family_prices, primary_scenarios, scenario_names
from crm_core.recommend.scoring import popularity_component, profit_component
from crm_core.recommend.settings import RecommendConfig
from crm_core.recommend.text_codes import as_arrow_text, factorize_text

_RELEASE_EVERY = 4  # blocks scored between two hand-backs of freed memory (each stalls the other threads)
ENGINE_OFFER_COLUMNS = ["customer_id", "rank", "product_id", "family", "scenario", "score", "affinity", "popularity",
                 "profit", "scenario_fit", "explanation_code", "explanation_params", "explanation",
                 "expected_revenue"]


def recommend(tx: pd.DataFrame, features: pd.DataFrame | None, products: pd.DataFrame | None,
              holdings: pd.DataFrame | None, *, as_of: dt.date, config: RecommendConfig,
              exclude_bought: bool = False) -> pd.DataFrame:
    """The next best offers of every customer as of a date, with the settings as configured.

    A pipeline run calibrates the blend first (:mod:`crm_core.recommend.calibration`).

    Args:
        tx: canonical transactions (docs/contracts.md); rows after ``as_of`` are ignored.
        features: ``crm_core.features.customer_features`` output, optionally with a
            ``cluster`` column (used for same-cluster adoption); may be None.
        products: the products frame (catalog), or None / empty: then the
            products seen in ``tx`` are offered.
        holdings: bank product holdings, or None / empty; held products are never offered.
        as_of: the reference date (whole day included).
        config: engine settings.
        exclude_bought: never offer a product the customer bought or held before
            (the "new" track of the offline evaluation).
    Returns:
        The offers frame (ENGINE_OFFER_COLUMNS), sorted by ``customer_id, rank``.
    """
    # Scored as configured (no calibration); with_config releases the learning data before scoring.
    return prepare(tx, features, products, holdings, as_of=as_of, config=config).with_config(config).offers(
        exclude_bought=exclude_bought)


@dataclass
class PreparedEngine:
    """Everything known on the as-of date, ready to rank candidates."""

    config: RecommendConfig
    catalog: pd.DataFrame
    lines: CodedLines
    history: History
    item_model: ItemItemModel
    purchase_model: PurchaseModel
    cluster_of: np.ndarray | None
    adoption: np.ndarray | None
    notes: list[str] = field(default_factory=list)
    learning: LearningData | None = None  # the start of the learning window, for the calibration backtest
    learning_days: int | None = None

    def with_config(self, config: RecommendConfig) -> "PreparedEngine":
        """The same prepared engine scoring with ``config`` (only settings used at scoring time may differ).

        The learning data and the coded sales lines are dropped (the codes of the
        customers and products stay): they are needed only to build the models and
        calibrate, and at a million customers they hold a second history and
        hundreds of MB of lines in memory. Scoring reads the history.
        """
        return dataclasses.replace(self, config=config, learning=None, lines=self.lines.without_sales())

    @property
    def offerable(self) -> np.ndarray:
        """Bool per product code: may be offered (active merchandise, in the catalog when there is one)."""
        return self.catalog["offerable"].to_numpy(dtype=bool)

    def info(self) -> dict:
        """JSON-safe model parameters and what the engine could not use."""
        return {"products": int(len(self.catalog)), "offerable_products": int(self.offerable.sum()),
                "model_products": int(len(self.item_model.items_)),
                "learning_days": int(self.learning_days or self.config.horizon_days),
                "purchase_model": self.purchase_model.parameters(), "notes": list(self.notes)}

    def offers(self, *, exclude_bought: bool = False) -> pd.DataFrame:
        """Rank, diversify and explain the offers (see :func:`recommend`).

        Customers are scored in blocks (``ItemItemModel.block_size``), on
        ``config.threads`` threads, so the memory in use stays that of a few
        blocks of candidates whatever the number of customers; each block
        keeps only its chosen offers. Blocks are joined in customer order, so
        the result does not depend on the threads.
        """
        h = self.history
        rows = h.customers.index.to_numpy(dtype=np.int64)
        if len(rows) == 0:
            return _empty_offers()
        ctx = _OfferContext.of(self)
        step = self.item_model.block_size()
        blocks = [rows[start:start + step] for start in range(0, len(rows), step)]

        def block_offers(number):
            chosen = self._block_offers(blocks[number], exclude_bought, ctx)
            frame = self._finish(chosen, ctx) if len(chosen["c"]) else None
            del chosen
            if number % _RELEASE_EVERY == _RELEASE_EVERY - 1:  # the blocks' candidates, freed in the threads' heaps
                release_freed(collect=False)
            return frame

        if self.config.threads > 1 and len(blocks) > 1:
            with ThreadPoolExecutor(max_workers=self.config.threads) as pool:
                frames = list(pool.map(block_offers, range(len(blocks))))
        else:
            frames = [block_offers(number) for number in range(len(blocks))]
        frames = [f for f in frames if f is not None]
        if not frames:
            return _empty_offers()
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def _block_offers(self, rows: np.ndarray, exclude_bought: bool, ctx: "_OfferContext") -> dict[str, np.ndarray]:
        """The chosen candidates of one block of customers, with their score components and rank."""
        h = self.history
        cand = candidate_pairs(h, self.item_model, self.offerable, rows, self.config, exclude_bought=exclude_bought)
        if not len(cand["c"]):
            return cand
        return choose_offers(cand, ctx.tables, h, self.config,
                             lambda kept: self.purchase_model.predict_pairs(kept, h, self.adoption, self.cluster_of))

    def _finish(self, o: dict, ctx: "_OfferContext") -> pd.DataFrame:
        """Add the explanation inputs, render explanations, shape the output frame."""
        cfg, h, cat = self.config, self.history, self.catalog
        c, p = o["c"], o["p"]
        anchors = self.item_model.anchors(c, p)
        anchor = anchors["anchor"].to_numpy()
        o["anchor_name"] = ctx.anchor_names.take(np.where(anchor >= 0, anchor, len(cat)))
        o["share"] = anchors["share"].to_numpy()
        o["name"] = ctx.anchor_names.take(p)
        o["family"] = ctx.families.take(p)
        n, first, last = o["n"], o["first"], o["last"]
        own = np.where(n >= 2, (first - last) / np.maximum(n - 1, 1), np.nan)
        interval = np.where(np.isnan(own), h.usual_interval[p], own)
        o["interval"] = np.where(o["hist"], interval, np.nan)
        o["price"] = ctx.tables.price[p]
        o["usual_price"] = ctx.tables.usual.lookup(c, ctx.tables.family_codes[p])
        o["window_orders"] = h.popularity[p]
        at = np.searchsorted(ctx.scen_codes, c)
        o["recency"], o["frequency"] = ctx.recency[at], ctx.frequency[at]
        text = explain(o, cfg.popularity_window_days, cfg.top_n)
        out = pd.DataFrame({
            "customer_id": _take_text(ctx.customer_ids, c),
            "rank": o["rank"].astype(np.int64),
            "product_id": _take_text(ctx.product_ids, p),
            "family": _take_text(ctx.family_ids, p),
            "scenario": pd.array(scenario_names(o["kind"]), dtype="string"),
            "score": o["score"].astype(float), "affinity": o["affinity"].astype(float),
            "popularity": o["popularity"].astype(float), "profit": o["profit"].astype(float),
            "scenario_fit": o["scenario_fit"].astype(float)})
        out = pd.concat([out, text], axis=1)
        out["expected_revenue"] = np.round(o["prob"] * o["price"], 2)
        # Customer codes sort like customer ids and blocks run in customer order, ranks within each.
        return out[ENGINE_OFFER_COLUMNS]


@dataclass(frozen=True)
class _OfferContext:
    """What every block of customers needs, computed once per :meth:`PreparedEngine.offers` call."""

    tables: RankingTables
    scen_codes: np.ndarray
    recency: np.ndarray
    frequency: np.ndarray
    anchor_names: pd.Categorical
    families: pd.Categorical
    customer_ids: pa.ChunkedArray
    product_ids: pa.ChunkedArray
    family_ids: pa.ChunkedArray

    @classmethod
    def of(cls, engine: PreparedEngine) -> "_OfferContext":
        """The context of an engine's history and catalog."""
        h, cat, cfg = engine.history, engine.catalog, engine.config
        scen = primary_scenarios(h, engine.offerable, cfg)
        names = cat["name"].astype("string").to_numpy(dtype=object)
        families = cat["family"].astype("string").to_numpy(dtype=object)
        tables = ranking_tables(h, cat, engine.offerable, len(engine.lines.customers), cfg, scen)
        return cls(tables, scen.index.to_numpy(), scen["recency"].to_numpy(), scen["frequency"].to_numpy(),
                   _categorical(np.append(names, ""), np.arange(len(names) + 1)),
                   _categorical(families, np.arange(len(families))),
                   _arrow_text(engine.lines.customers), _arrow_text(cat.index), _arrow_text(cat["family"]))


def ranking_tables(history: History, catalog: pd.DataFrame, offerable: np.ndarray, n_customers: int,
                   config: RecommendConfig, scenarios: pd.DataFrame | None = None) -> RankingTables:
    """The :class:`~crm_core.recommend.ranking.RankingTables` of a history and catalog.

    ``scenarios`` is ``primary_scenarios(history, offerable, config)`` when already computed.
    """
    if scenarios is None:
        primary_of = primary_codes(history, offerable, n_customers, config)
    else:
        primary_of = np.zeros(n_customers, dtype=np.int64)
        primary_of[scenarios.index.to_numpy()] = scenarios["scenario"].to_numpy()
    family_codes = pd.factorize(catalog["family"])[0]
    price = catalog["price"].to_numpy(dtype=float)
    return RankingTables(primary_of, family_codes, price, family_prices(history, family_codes, price),
                         popularity_component(history.popularity, offerable),
                         profit_component(catalog["margin_rate"].to_numpy(dtype=float), offerable))


@dataclass(frozen=True)
class SalesCatalog:
    """The catalog of the lines on or before the as-of date, and what :func:`code_sales` reuses of its making.

    ``product_text`` is ``factorize_text`` of those lines' product ids; ``notes``
    say what the catalog lacked (no catalog, no margins).
    """

    catalog: pd.DataFrame
    product_text: tuple | None
    notes: list[str]


@dataclass(frozen=True)
class CodedSales:
    """The catalog and the lines in integer codes: all :func:`prepare_coded` needs of the transactions."""

    catalog: pd.DataFrame
    lines: CodedLines
    notes: list[str]


def prepare(tx: pd.DataFrame, features: pd.DataFrame | None, products: pd.DataFrame | None,
            holdings: pd.DataFrame | None, *, as_of: dt.date, config: RecommendConfig) -> PreparedEngine:
    """Build the catalog, history, item-item model and purchase model for ``as_of``."""
    return prepare_coded(code_sales(tx, products, holdings, as_of=as_of, config=config), features, as_of=as_of,
                         config=config)


def sales_catalog(tx: pd.DataFrame, products: pd.DataFrame | None, holdings: pd.DataFrame | None, *,
                  as_of: dt.date, config: RecommendConfig) -> SalesCatalog:
    """The catalog of the lines on or before ``as_of``: the only use of their names and categories.

    A run builds it, deletes ``product_name`` and ``category`` from the lines
    it owns (hundreds of MB at ten million lines), then codes the lines with
    :func:`code_sales` given this catalog.
    """
    tx = _up_to(tx, as_of)
    notes: list[str] = []
    hold = holdings if holdings is not None and len(holdings) else None
    product_text = factorize_text(tx["product_id"]) if "product_id" in tx.columns else None
    catalog = build_catalog(tx, products, config, None if hold is None else hold["product_id"], product_text)
    if not bool(catalog["in_catalog"].any()):
        notes.append("No product catalog: offering the products seen in the transactions"
                     + (", family = category." if "category" in tx.columns and tx["category"].notna().any()
                        else ", each product its own family."))
    if not np.isfinite(catalog["margin_rate"].to_numpy(dtype=float)).any():
        notes.append("No margins: the profit component is left out and the other weights renormalised.")
    release_freed(collect=False)  # the catalog's group-bys over every line, before the lines are coded
    return SalesCatalog(catalog, product_text, notes)


def code_sales(tx: pd.DataFrame, products: pd.DataFrame | None, holdings: pd.DataFrame | None, *,
               as_of: dt.date, config: RecommendConfig, catalog: SalesCatalog | None = None) -> CodedSales:
    """The first half of :func:`prepare`: the catalog and the lines (on or before ``as_of``) in codes.

    A run codes the lines, lets the transactions frame go (gigabytes at ten
    million lines), then builds the models with :func:`prepare_coded`.

    Args:
        catalog: ``sales_catalog`` of the same lines, products, holdings, date and
            settings when already built (then ``tx`` needs no names or categories).
    """
    if catalog is None:
        catalog = sales_catalog(tx, products, holdings, as_of=as_of, config=config)
    hold = holdings if holdings is not None and len(holdings) else None
    lines = code_lines(_up_to(tx, as_of), catalog.catalog.index, hold, catalog.product_text)
    return CodedSales(catalog.catalog, lines, list(catalog.notes))


def _up_to(tx: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The lines on or before ``as_of`` (``tx`` itself when none is later)."""
    day = day_number(as_of)
    latest = pd.to_datetime(tx["invoice_date"]).max() if len(tx) else pd.NaT
    if pd.notna(latest) and day_number(latest) > day:  # rows after the as-of date are ignored
        return tx.loc[day_numbers(tx["invoice_date"], missing=-10**6) <= day]
    return tx


def prepare_coded(coded: CodedSales, features: pd.DataFrame | None, *, as_of: dt.date,
                  config: RecommendConfig) -> PreparedEngine:
    """The second half of :func:`prepare`: histories, item-item model and purchase model from coded sales."""
    day = day_number(as_of)
    catalog, lines, notes = coded.catalog, coded.lines, list(coded.notes)
    P, C = len(catalog), len(lines.customers)
    cluster_of = _cluster_codes(features, lines.customers)
    if cluster_of is None:
        notes.append("No clusters: same-cluster adoption is not used.")

    window = learning_days(lines, day, config.horizon_days)
    if window < config.horizon_days:
        notes.append(f"Only {day - int(lines.sales.day.min())} days of sales history: the purchase model learned "
                     f"from the last {window} days (not {config.horizon_days}), with the history before them.")

    def today():
        history = history_as_of(lines, day, config.popularity_window_days)
        item_model = ItemItemModel(config.model_regularisation, config.max_model_products).fit(history.pairs, C, P)
        adoption = None if cluster_of is None else cluster_adoption(history.pairs, cluster_of, P)
        return history, item_model, adoption

    # The purchase model learns one horizon back, independently of today's history: both at once.
    if config.threads > 1:
        with ThreadPoolExecutor(max_workers=2) as pool:
            learning = pool.submit(fit_purchase_model, lines, day, catalog, cluster_of, config, window)
            history, item_model, adoption = today()
            purchase_model, learned = learning.result()
    else:
        history, item_model, adoption = today()
        purchase_model, learned = fit_purchase_model(lines, day, catalog, cluster_of, config, window)
    if not purchase_model.fitted_:
        notes.append(f"Less than {window} days of history with enough repeat purchases: "
                     "the purchase model uses a fixed rule instead of learning from the data.")
    return PreparedEngine(config, catalog, lines, history, item_model, purchase_model, cluster_of, adoption, notes,
                          learned, window)


def _cluster_codes(features: pd.DataFrame | None, customers: pd.Index) -> np.ndarray | None:
    """Cluster code per customer code from ``features['cluster']`` (-1 unknown), or None."""
    if features is None or "cluster" not in getattr(features, "columns", []):
        return None
    ids = features["customer_id"] if "customer_id" in features.columns else features.index.to_series()
    cl = pd.Series(features["cluster"].to_numpy(), index=pd.Index(ids.astype("string").to_numpy()))
    cl = cl[~cl.index.duplicated()]
    codes, _ = pd.factorize(cl.reindex(customers.to_numpy()), sort=True)
    return codes.astype(np.int64) if (codes >= 0).any() else None


def _arrow_text(values) -> pa.ChunkedArray:
    """Ids or names as an Arrow string array, to gather millions of rows without Python strings."""
    return as_arrow_text(pd.Series(np.asarray(values, dtype=object), dtype="string"))


def _take_text(values: pa.ChunkedArray, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``values[codes]`` as a pandas string array."""
    return pd.arrays.ArrowStringArray(values.take(pa.array(codes)))


def _categorical(labels: np.ndarray, codes: np.ndarray) -> pd.Categorical:
    """``labels[codes]`` as a categorical (labels need not be distinct): cheap for millions of offers."""
    distinct, where = np.unique(labels.astype(str), return_inverse=True)
    return pd.Categorical.from_codes(where[codes], categories=pd.Index(distinct, dtype=object))


def _empty_offers() -> pd.DataFrame:
    """The offers frame with no rows and the contract's columns."""
    frame = pd.DataFrame({c: pd.Series(dtype="string") for c in ENGINE_OFFER_COLUMNS})
    frame["rank"] = frame["rank"].astype(np.int64)
    for c in ("score", "affinity", "popularity", "profit", "scenario_fit", "expected_revenue"):
        frame[c] = frame[c].astype(float)
    frame["explanation_params"] = ParamsArray.from_json([])
    return frame
