"""The product table the engine offers from: family, price, margin, offerable.

With a catalog, its active merchandise products are offered; without one, the
products seen in the transactions are, with the line's category as family (or
the product as its own family). Non-merchandise lines are never offered.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_core.recommend.settings import RecommendConfig
from crm_core.recommend.text_codes import factorize_text, sorted_codes


def build_catalog(tx: pd.DataFrame, products: pd.DataFrame | None, config: RecommendConfig,
                  extra_ids: pd.Series | None = None, product_text: tuple | None = None) -> pd.DataFrame:
    """One row per product id known from the catalog or the transactions.

    Args:
        tx: canonical transactions (all dates; only product facts are used).
        products: the products frame of docs/contracts.md, or None / empty.
        config: engine settings (``extra_non_merchandise``).
        extra_ids: more product ids to include (e.g. those of holdings).
        product_text: ``factorize_text(tx["product_id"])`` when already computed.
    Returns:
        A frame indexed by ``product_id`` (sorted) with ``name, family, price,
        margin_rate`` (NaN when unknown), ``active, is_merchandise, in_catalog,
        offerable`` (bool).
    """
    has_catalog = products is not None and len(products) > 0
    described = {}
    if has_catalog:
        cat = products.copy()
        cat["product_id"] = cat["product_id"].astype("string").str.strip().str.upper()
        cat = cat.dropna(subset=["product_id"]).drop_duplicates("product_id", keep="last").set_index("product_id")
        in_cat = cat["in_catalog"].astype(bool) if "in_catalog" in cat.columns else pd.Series(True, index=cat.index)
        has_catalog = bool(in_cat.any())
        described = {col: cat.index[cat[col].notna()] for col in ("name", "family") if col in cat.columns}
    seen = _facts_from_lines(tx, described, product_text)
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


def _facts_from_lines(tx: pd.DataFrame, described: dict | None = None, product_text: tuple | None = None
                      ) -> pd.DataFrame:
    """Name, category, typical price and merchandise flag of each product seen in transactions.

    Worked on integer codes (ten million lines, a few thousand products): the
    most frequent name and category (ties: the smallest), the median sale
    price, and merchandise only when every line says so. ``described`` maps
    ``name`` / ``family`` to the product ids the catalog already names; their
    lines are not read for it.
    """
    empty = pd.DataFrame({"name": pd.Series(dtype="string"), "family": pd.Series(dtype="string"),
                          "price": pd.Series(dtype="float64"), "is_merchandise": pd.Series(dtype=bool)},
                         index=pd.Index([], dtype="string", name="product_id"))
    if "product_id" not in tx.columns or len(tx) == 0:
        return empty
    codes, distinct = product_text if product_text is not None else factorize_text(tx["product_id"])
    product, ids = sorted_codes(codes, distinct)
    seen = product >= 0
    if not seen.any():
        return empty
    n = len(ids)
    sale = ~tx["is_return"].to_numpy(dtype=bool) if "is_return" in tx.columns else np.ones(len(tx), bool)
    price = tx["unit_price"].to_numpy(dtype="float64", na_value=np.nan) if "unit_price" in tx.columns \
        else np.full(len(tx), np.nan)
    priced = seen & sale & (price > 0)
    by_product = pd.Categorical.from_codes(product[priced], categories=pd.RangeIndex(n))  # no hashing of codes
    median = pd.Series(price[priced]).groupby(by_product, observed=False).median()
    merchandise = tx["is_merchandise"].to_numpy(dtype=bool) if "is_merchandise" in tx.columns \
        else np.ones(len(tx), bool)
    not_merchandise = np.bincount(product[seen & ~merchandise], minlength=n)
    out = pd.DataFrame({"price": median.to_numpy(dtype=float), "is_merchandise": not_merchandise == 0},
                       index=pd.Index(ids, dtype="string", name="product_id"))
    for target, column in (("name", "product_name"), ("family", "category")):
        wanted = ~ids.isin((described or {}).get(target, []))
        out[target] = _most_common(np.where(seen & wanted[np.maximum(product, 0)], product, -1), tx[column], n) \
            if column in tx.columns and wanted.any() else pd.array([pd.NA] * n, dtype="string")
    return out[["price", "is_merchandise", "name", "family"]]


def _most_common(product: np.ndarray, values: pd.Series, n: int) -> pd.api.extensions.ExtensionArray:
    """Per product code (-1: skip the line), the most frequent non-missing value (ties: the smallest); NA when none."""
    lines = product >= 0
    codes, distinct = factorize_text(values, None if lines.all() else lines)
    value, names = sorted_codes(codes, distinct)
    product = product[lines]
    ok = value >= 0
    if not ok.any():
        return pd.array([pd.NA] * n, dtype="string")
    keys = product[ok].astype(np.int64) * len(names) + value[ok]
    if n * len(names) <= 16 * len(keys):
        counts = np.bincount(keys, minlength=n * len(names))
        combos = np.flatnonzero(counts)
        counts = counts[combos]
    else:
        combos, counts = np.unique(keys, return_counts=True)
    prod, val = combos // len(names), combos % len(names)
    best = np.lexsort((val, -counts, prod))
    first = np.ones(len(best), dtype=bool)
    first[1:] = prod[best][1:] != prod[best][:-1]
    chosen = np.full(n, -1, dtype=np.int64)
    chosen[prod[best][first]] = val[best][first]
    out = pd.array(names.to_numpy()[np.maximum(chosen, 0)], dtype="string")
    out[chosen < 0] = pd.NA
    return out


def _margin_rate(c: pd.DataFrame) -> pd.Series:
    """Margin rate from the catalog: given, else (price - unit_cost) / price, else NaN."""
    margin = c["margin_rate"].astype("float64") if "margin_rate" in c.columns else pd.Series(np.nan, index=c.index)
    if "unit_cost" in c.columns and "price" in c.columns:
        price = c["price"].astype("float64")
        derived = (price - c["unit_cost"].astype("float64")) / price.where(price > 0)
        margin = margin.fillna(derived)
    return margin
