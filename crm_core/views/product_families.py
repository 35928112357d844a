"""A product's family as the offers engine used it, per run: what the Offers, Review and Campaign pages filter on.

The catalog family, else the product's most frequent transaction category (ties: the smallest),
else the product itself (its code).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select

from crm_core.store.models import Offer, PipelineRun, Product, Transaction


def family_product_pks(families: pd.Series, wanted: list[str] | None) -> list[int] | None:
    """Product keys whose family is one of ``wanted`` (None: no family filter).

    Args:
        families: :func:`product_families` of the run.
        wanted: family names, or None.
    Returns:
        The keys (one bound parameter each in an ``IN``), or None when ``wanted`` is None.
    """
    if wanted is None:
        return None
    return [int(pk) for pk in families.index[families.isin(wanted).to_numpy(dtype=bool)]]


def product_families(db, run_id: int, product_pks: list | None = None) -> pd.Series:
    """Family of each product offered in the run (or of ``product_pks``), by product key.

    The family the engine used (see the module docstring): the catalog family, else the
    product's most frequent transaction category, else the product's code. A run stored
    since revision 0009 keeps the family of each product it offered (``families_json``);
    other products (an older run, an offer edited to another product, a product of
    ``product_pks`` the run did not offer) are worked out from the catalog and the sales
    lines of the products without a catalog family, so callers that need it repeatedly for
    one run keep the result.

    Returns:
        A string Series indexed by product key.
    """
    with db.read() as s:
        kept = s.scalar(select(PipelineRun.families_json).where(PipelineRun.id == run_id)) or {}
        wanted = (s.scalars(select(Offer.product_id).distinct().where(Offer.run_id == run_id)).all()
                  if product_pks is None else [int(pk) for pk in product_pks])
    wanted = sorted(set(wanted))
    known = {pk: kept[str(pk)] for pk in wanted if str(pk) in kept}
    rest = [pk for pk in wanted if pk not in known]
    worked_out = _families_from_lines(db, rest) if rest else pd.Series(dtype="string")
    out = pd.concat([pd.Series(known, dtype="string"), worked_out]) if known else worked_out
    out.index = pd.Index(out.index.astype("int64"), name="pk")
    return out.sort_index().astype("string")


def _families_from_lines(db, product_pks: list[int]) -> pd.Series:
    """Family of each product key: the catalog's, else its most frequent sales category, else its code."""
    offered = product_pks
    products = read_frame(db, select(Product.id.label("pk"), Product.product_code.label("code"),
                                Product.family.label("family")).where(Product.id.in_(offered)))
    family = products.set_index("pk")["family"].astype("string")
    missing = family.index[family.isna().to_numpy()]
    if len(missing):
        no_family = select(Product.id).where(Product.id.in_(offered), Product.family.is_(None))
        lines = read_frame(db, select(Transaction.product_id.label("pk"), Transaction.category.label("category"),
                                 func.count().label("k"))
                      .where(Transaction.product_id.in_(no_family), Transaction.category.is_not(None))
                      .group_by(Transaction.product_id, Transaction.category))
        if len(lines):
            lines["category"] = lines["category"].astype("string")
            best = (lines.sort_values(["pk", "k", "category"], ascending=[True, False, True], kind="mergesort")
                    .drop_duplicates("pk").set_index("pk")["category"])
            family = family.fillna(best.reindex(family.index).astype("string"))
    code = products.set_index("pk")["code"].astype("string")
    return family.fillna(code).astype("string")


def read_frame(db, stmt) -> pd.DataFrame:
    """Run a Core select and return its rows as a frame."""
    with db.engine.connect() as conn:
        return pd.read_sql_query(stmt, conn)
