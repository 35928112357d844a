"""The offer engine: from transactions to the offers frame of docs/contracts.md.

``recommend`` is the public entry. :func:`prepare` does the work that does
not depend on the exclusions (catalog, history, item-item model, purchase
model) so that the offline evaluation can rank the same prepared engine twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crm_core.recommend.affinity import ItemItemModel, cluster_adoption
from crm_core.recommend.candidates import candidate_pairs
from crm_core.recommend.catalog import build_catalog
from crm_core.recommend.diversity import top_offers
from crm_core.recommend.explain import explain
from crm_core.recommend.history import CodedLines, History, code_lines, day_number, history_as_of
from crm_core.recommend.propensity import PurchaseModel, pair_features
from crm_core.recommend.scenarios import candidate_kinds, primary_scenarios, scenario_names
from crm_core.recommend.scoring import popularity_component, profit_component, relative_affinity, weighted_score
from crm_core.recommend.settings import RecommendConfig

OFFER_COLUMNS = ["customer_id", "rank", "product_id", "family", "scenario", "score", "affinity", "popularity",
                 "profit", "scenario_fit", "explanation_code", "explanation_params", "explanation",
                 "expected_revenue"]


def recommend(tx: pd.DataFrame, features: pd.DataFrame | None, products: pd.DataFrame | None,
              holdings: pd.DataFrame | None, *, as_of: dt.date, config: RecommendConfig,
              exclude_bought: bool = False) -> pd.DataFrame:
    """The next best offers of every customer as of a date.

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
        The offers frame (OFFER_COLUMNS), sorted by ``customer_id, rank``.
    """
    return prepare(tx, features, products, holdings, as_of=as_of, config=config).offers(
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

    @property
    def offerable(self) -> np.ndarray:
        """Bool per product code: may be offered (active merchandise, in the catalog when there is one)."""
        return self.catalog["offerable"].to_numpy(dtype=bool)

    def info(self) -> dict:
        """JSON-safe model parameters and what the engine could not use."""
        return {"products": int(len(self.catalog)), "offerable_products": int(self.offerable.sum()),
                "model_products": int(len(self.item_model.items_)),
                "purchase_model": self.purchase_model.parameters(), "notes": list(self.notes)}

    def offers(self, *, exclude_bought: bool = False) -> pd.DataFrame:
        """Rank, diversify and explain the offers (see :func:`recommend`)."""
        cfg, h = self.config, self.history
        rows = h.customers.index.to_numpy(dtype=np.int64)
        cand = candidate_pairs(h, self.item_model, self.offerable, rows, cfg, exclude_bought=exclude_bought)
        if cand.empty:
            return _empty_offers()
        prob = self.purchase_model.predict(pair_features(cand, h, self.adoption, self.cluster_of))
        scen = primary_scenarios(h, self.offerable, cfg)
        primary = scen["scenario"].reindex(cand["c"].to_numpy()).to_numpy(dtype=np.int64)
        family_codes = pd.factorize(self.catalog["family"])[0]
        price = self.catalog["price"].to_numpy(dtype=float)
        kind, fit, keep = candidate_kinds(cand, primary, family_codes, price, h, cfg)
        cand = cand.assign(prob=prob, kind=kind, fit=fit, primary=primary)[keep].reset_index(drop=True)
        p = cand["p"].to_numpy()
        popularity = popularity_component(h.popularity, self.offerable)
        profit = profit_component(self.catalog["margin_rate"].to_numpy(dtype=float), self.offerable)
        components = {"affinity": relative_affinity(cand["c"].to_numpy(), cand["prob"].to_numpy()),
                      "popularity": None if popularity is None else popularity[p],
                      "profit": None if profit is None else profit[p],
                      "scenario_fit": cand["fit"].to_numpy()}
        score, _ = weighted_score(components, cfg)
        for name, values in components.items():
            cand[name] = np.nan if values is None else values
        cand["score"] = score
        family_of = family_codes[p]
        chosen, rank = top_offers(cand["c"].to_numpy(), family_of, p, score, cfg.top_n)
        o = cand.iloc[chosen].reset_index(drop=True)
        o["rank"] = rank
        o["customer_id"] = pd.array(self.lines.customers.to_numpy()[o["c"].to_numpy()], dtype="string")
        o["product_id"] = pd.array(self.catalog.index.to_numpy()[o["p"].to_numpy()], dtype="string")
        o["family"] = pd.array(self.catalog["family"].to_numpy()[o["p"].to_numpy()], dtype="string")
        return self._finish(o, scen)

    def _finish(self, o: pd.DataFrame, scen: pd.DataFrame) -> pd.DataFrame:
        """Add the explanation inputs, render explanations, shape the output frame."""
        cfg, h, cat = self.config, self.history, self.catalog
        p = o["p"].to_numpy()
        anchors = self.item_model.anchors(h.pairs, o["c"].to_numpy(), p)
        names = cat["name"].astype("string").to_numpy(dtype=object)
        o["anchor_name"] = np.where(anchors["anchor"].to_numpy() >= 0, names[anchors["anchor"].clip(lower=0)], "")
        o["share"] = anchors["share"].to_numpy()
        o["name"] = names[p]
        own = np.where(o["n"] >= 2, (o["first"] - o["last"]) / (o["n"] - 1).clip(lower=1), np.nan)
        o["interval"] = np.where(np.isnan(own), h.usual_interval[p], own)
        o["interval"] = np.where(o["hist"], o["interval"], np.nan)
        o["price"] = cat["price"].to_numpy(dtype=float)[p]
        o["usual_price"] = _usual_price(h, cat, o)
        o["window_orders"] = h.popularity[p]
        sc = scen.reindex(o["c"].to_numpy())
        for col in ("recency", "frequency"):
            o[col] = sc[col].to_numpy()
        text = explain(o, cfg.popularity_window_days, cfg.top_n)
        out = pd.DataFrame({
            "customer_id": o["customer_id"], "rank": o["rank"].astype(np.int64), "product_id": o["product_id"],
            "family": o["family"], "scenario": pd.array(scenario_names(o["kind"].to_numpy()), dtype="string"),
            "score": o["score"].astype(float), "affinity": o["affinity"].astype(float),
            "popularity": o["popularity"].astype(float), "profit": o["profit"].astype(float),
            "scenario_fit": o["scenario_fit"].astype(float)})
        out = pd.concat([out, text.reset_index(drop=True)], axis=1)
        out["expected_revenue"] = np.round(o["prob"].to_numpy() * o["price"].to_numpy(), 2)
        # Customer codes sort like customer ids and top_offers orders by code then rank.
        return out[OFFER_COLUMNS]


def prepare(tx: pd.DataFrame, features: pd.DataFrame | None, products: pd.DataFrame | None,
            holdings: pd.DataFrame | None, *, as_of: dt.date, config: RecommendConfig) -> PreparedEngine:
    """Build the catalog, history, item-item model and purchase model for ``as_of``."""
    day = day_number(as_of)
    tx_day = pd.to_datetime(tx["invoice_date"]).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    tx = tx.loc[tx_day.astype(np.int64) <= day]
    notes: list[str] = []
    hold = holdings if holdings is not None and len(holdings) else None
    catalog = build_catalog(tx, products, config, None if hold is None else hold["product_id"])
    if not bool(catalog["in_catalog"].any()):
        notes.append("No product catalog: offering the products seen in the transactions"
                     + (", family = category." if "category" in tx.columns and tx["category"].notna().any()
                        else ", each product its own family."))
    if not np.isfinite(catalog["margin_rate"].to_numpy(dtype=float)).any():
        notes.append("No margins: the profit component is left out and the other weights renormalised.")
    lines = code_lines(tx, catalog.index, hold)
    P, C = len(catalog), len(lines.customers)
    history = history_as_of(lines, day, config.popularity_window_days)
    item_model = ItemItemModel(config.model_regularisation, config.max_model_products).fit(history.pairs, C, P)
    cluster_of = _cluster_codes(features, lines.customers)
    if cluster_of is None:
        notes.append("No clusters: same-cluster adoption is not used.")
    adoption = None if cluster_of is None else cluster_adoption(history.pairs, cluster_of, P)
    purchase_model = _fit_purchase_model(lines, day, catalog, cluster_of, config)
    if not purchase_model.fitted_:
        notes.append(f"Less than {config.horizon_days} days of history with enough repeat purchases: "
                     "the purchase model uses a fixed rule instead of learning from the data.")
    return PreparedEngine(config, catalog, lines, history, item_model, purchase_model, cluster_of, adoption, notes)


def _fit_purchase_model(lines: CodedLines, day: int, catalog: pd.DataFrame, cluster_of: np.ndarray | None,
                        config: RecommendConfig) -> PurchaseModel:
    """Learn the purchase model on the data one horizon back and what was bought since."""
    start = day - config.horizon_days
    past = history_as_of(lines, start, config.popularity_window_days)
    rows = past.customers.index.to_numpy(dtype=np.int64)
    if len(rows) == 0:
        return PurchaseModel().fit(pd.DataFrame({"held_before": []}), np.zeros(0))
    if len(rows) > config.training_max_customers:
        rng = np.random.default_rng(config.seed)
        rows = np.sort(rng.choice(rows, size=config.training_max_customers, replace=False))
    P, C = len(catalog), len(lines.customers)
    offerable = catalog["offerable"].to_numpy(dtype=bool)
    model = ItemItemModel(config.model_regularisation, config.max_model_products).fit(past.pairs, C, P)
    cand = candidate_pairs(past, model, offerable, rows, config, exclude_bought=False)
    s = lines.sales
    later = s[(s["day"] > start) & (s["day"] <= day) & (s["c"] >= 0) & (s["p"] >= 0)]
    bought = np.isin(cand["c"].to_numpy() * P + cand["p"].to_numpy(),
                     np.unique(later["c"].to_numpy() * P + later["p"].to_numpy()))
    adoption = None if cluster_of is None else cluster_adoption(past.pairs, cluster_of, P)
    return PurchaseModel().fit(pair_features(cand, past, adoption, cluster_of), bought)


def _cluster_codes(features: pd.DataFrame | None, customers: pd.Index) -> np.ndarray | None:
    """Cluster code per customer code from ``features['cluster']`` (-1 unknown), or None."""
    if features is None or "cluster" not in getattr(features, "columns", []):
        return None
    ids = features["customer_id"] if "customer_id" in features.columns else features.index.to_series()
    cl = pd.Series(features["cluster"].to_numpy(), index=pd.Index(ids.astype("string").to_numpy()))
    cl = cl[~cl.index.duplicated()]
    codes, _ = pd.factorize(cl.reindex(customers.to_numpy()), sort=True)
    return codes.astype(np.int64) if (codes >= 0).any() else None


def _usual_price(h: History, cat: pd.DataFrame, o: pd.DataFrame) -> np.ndarray:
    """The customer's mean catalog price in the offered product's family (NaN when none)."""
    fam = pd.factorize(cat["family"])[0]
    price = cat["price"].to_numpy(dtype=float)
    pairs = h.pairs[np.isin(h.pairs["c"].to_numpy(), o["c"].to_numpy())]
    usual = pd.DataFrame({"c": pairs["c"].to_numpy(), "f": fam[pairs["p"].to_numpy()],
                          "price": price[pairs["p"].to_numpy()]}).dropna().groupby(["c", "f"])["price"].mean()
    key = pd.MultiIndex.from_arrays([o["c"].to_numpy(), fam[o["p"].to_numpy()]])
    return usual.reindex(key).to_numpy(dtype=float) if len(usual) else np.full(len(o), np.nan)


def _empty_offers() -> pd.DataFrame:
    """The offers frame with no rows and the contract's columns."""
    frame = pd.DataFrame({c: pd.Series(dtype="string") for c in OFFER_COLUMNS})
    frame["rank"] = frame["rank"].astype(np.int64)
    for c in ("score", "affinity", "popularity", "profit", "scenario_fit", "expected_revenue"):
        frame[c] = frame[c].astype(float)
    frame["explanation_params"] = frame["explanation_params"].astype(object)
    return frame
