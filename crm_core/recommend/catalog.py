"""The product table the engine offers from: family, price, margin, offerable.

With a catalog, its active merchandise products are offered; without one, the
products seen in the transactions are, with the line's category as family (or
the product as its own family). Non-merchandise lines are never offered.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_core.recommend.settings import RecommendConfig


def build_catalog(tx: pd.DataFrame, products: pd.DataFrame | None, config: RecommendConfig,
                  extra_ids: pd.Series | None = None) -> pd.DataFrame:
    """One row per product id known from the catalog or the transactions.

    Args:
        tx: canonical transactions (all dates; only product facts are used).
        products: the products frame of docs/contracts.md, or None / empty.
        config: engine settings (``extra_non_merchandise``).
        extra_ids: more product ids to include (e.g. those of holdings).
    Returns:
        A frame indexed by ``product_id`` (sorted) with ``name, family, price,
        margin_rate`` (NaN when unknown), ``active, is_merchandise, in_catalog,
        offerable`` (bool).
    """
    lines = tx.loc[tx["product_id"].notna()] if "product_id" in tx.columns else tx.iloc[0:0]
    seen = _facts_from_lines(lines)
    has_catalog = products is not None and len(products) > 0
    if has_catalog:
        cat = products.copy()
        cat["product_id"] = cat["product_id"].astype("string").str.strip().str.upper()
        cat = cat.dropna(subset=["product_id"]).drop_duplicates("product_id", keep="last").set_index("product_id")
        in_cat = cat["in_catalog"].astype(bool) if "in_catalog" in cat.columns else pd.Series(True, index=cat.index)
        has_catalog = bool(in_cat.any())
    ids = seen.index.union(cat.index) if products is not None and len(products) else seen.index
    if extra_ids is not None and len(extra_ids):
        extra = pd.Index(extra_ids.dropna().astype("string").str.strip().str.upper().unique(), dtype="string")
        ids = ids.union(extra)
    out = pd.DataFrame(index=pd.Index(ids.astype("string"), name="product_id")).sort_index()
    out["name"] = seen["name"].reindex(out.index)
    out["family"] = seen["family"].reindex(out.index)
    out["price"] = seen["price"].reindex(out.index)
    out["margin_rate"] = np.nan
    out["active"] = True
    out["is_merchandise"] = seen["is_merchandise"].reindex(out.index).fillna(True).astype(bool)
    out["in_catalog"] = False
    if products is not None and len(products):
        c = cat.reindex(out.index)
        known = c.index.isin(cat.index)
        for col in ("name", "family"):
            if col in c.columns:
                out[col] = c[col].astype("string").where(c[col].notna(), out[col])
        if "price" in c.columns:
            out["price"] = c["price"].astype("float64").where(c["price"].notna() & (c["price"] > 0), out["price"])
        margin = _margin_rate(c)
        out["margin_rate"] = margin.to_numpy()
        if "active" in c.columns:
            out["active"] = c["active"].astype("boolean").fillna(True).astype(bool).to_numpy()
        if "is_merchandise" in c.columns:
            out["is_merchandise"] &= c["is_merchandise"].astype("boolean").fillna(True).astype(bool).to_numpy()
        in_cat = c["in_catalog"].astype("boolean").fillna(False).astype(bool) if "in_catalog" in c.columns \
            else pd.Series(known, index=c.index)
        out["in_catalog"] = (in_cat.to_numpy() & known)
    out["family"] = out["family"].astype("string").fillna(out.index.to_series().astype("string"))
    out["name"] = out["name"].astype("string").fillna(out.index.to_series().astype("string"))
    extra = out.index.isin(list(config.extra_non_merchandise))
    out["is_merchandise"] = out["is_merchandise"] & ~extra
    offerable = out["active"] & out["is_merchandise"]
    if bool(out["in_catalog"].any()):
        offerable &= out["in_catalog"]
    out["offerable"] = offerable.astype(bool)
    return out


def _facts_from_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """Name, category, typical price and merchandise flag of each product seen in transactions."""
    if lines.empty:
        return pd.DataFrame({"name": pd.Series(dtype="string"), "family": pd.Series(dtype="string"),
                             "price": pd.Series(dtype="float64"), "is_merchandise": pd.Series(dtype=bool)},
                            index=pd.Index([], dtype="string", name="product_id"))
    pid = lines["product_id"].astype("string")
    frame = pd.DataFrame({"product_id": pid})
    frame["name"] = lines["product_name"].astype("string") if "product_name" in lines.columns else pd.NA
    frame["family"] = lines["category"].astype("string") if "category" in lines.columns else pd.NA
    sale = ~lines["is_return"].astype(bool) if "is_return" in lines.columns else pd.Series(True, index=lines.index)
    price = lines["unit_price"].astype("float64") if "unit_price" in lines.columns else pd.Series(np.nan, index=lines.index)
    frame["price"] = price.where(sale & (price > 0))
    frame["is_merchandise"] = lines["is_merchandise"].astype(bool) if "is_merchandise" in lines.columns else True
    g = frame.groupby("product_id", sort=True)
    out = pd.DataFrame({
        "price": g["price"].median(),
        "is_merchandise": g["is_merchandise"].all(),
    })
    out["name"] = _most_common(frame, "name").reindex(out.index)
    out["family"] = _most_common(frame, "family").reindex(out.index)
    out.index = out.index.astype("string")
    return out


def _most_common(frame: pd.DataFrame, column: str) -> pd.Series:
    """Per product, the most frequent non-missing value of ``column`` (ties: the smallest)."""
    counts = frame.dropna(subset=[column]).groupby(["product_id", column], sort=False).size().reset_index(name="k")
    best = counts.sort_values(["product_id", "k", column], ascending=[True, False, True], kind="mergesort")
    return best.drop_duplicates("product_id").set_index("product_id")[column].astype("string")


def _margin_rate(c: pd.DataFrame) -> pd.Series:
    """Margin rate from the catalog: given, else (price - unit_cost) / price, else NaN."""
    margin = c["margin_rate"].astype("float64") if "margin_rate" in c.columns else pd.Series(np.nan, index=c.index)
    if "unit_cost" in c.columns and "price" in c.columns:
        price = c["price"].astype("float64")
        derived = (price - c["unit_cost"].astype("float64")) / price.where(price > 0)
        margin = margin.fillna(derived)
    return margin
