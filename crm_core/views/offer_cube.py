"""Counting a run's offers by filter without reading them again: a small cube kept per run.

The Offers page counts the offers that pass its filters on every change of a filter. Counting
them in SQL reads every offer of the run (and its customer's segment): seconds at a million
customers. :func:`offer_count_cube` reads them once, grouped by segment, scenario and product;
:func:`count_from_cube` then answers any segment / scenario / family filter (and a minimum score
no higher than the run's lowest) with the same number as :func:`crm_core.views.offers.count_offers`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import and_, func, select

from crm_core.store.models import Offer, RunCustomer
from crm_core.views.offers import SUPERSEDED, Choice, family_product_pks


def _as_list(choice: Choice) -> list[str] | None:
    """A filter value as a list of strings (None: no filter)."""
    if choice is None:
        return None
    return [choice] if isinstance(choice, str) else [str(c) for c in choice]


def offer_count_cube(db, run_id: int) -> pd.DataFrame:
    """The run's standing offers (not superseded) counted per customer segment, scenario and product.

    Returns:
        Columns ``segment`` (``<NA>`` without one), ``scenario``, ``product_pk``, ``offers`` and
        ``lowest_score``: one row per segment, scenario and product that occur together (thousands,
        not millions), from which :func:`count_from_cube` answers the filters' counts.
    """
    stmt = (select(RunCustomer.rfm_segment.label("segment"), Offer.scenario.label("scenario"),
                   Offer.product_id.label("product_pk"), func.count().label("offers"),
                   func.min(Offer.score).label("lowest_score"))
            .select_from(Offer)
            .outerjoin(RunCustomer, and_(RunCustomer.run_id == Offer.run_id,
                                         RunCustomer.customer_id == Offer.customer_id))
            .where(Offer.run_id == run_id, Offer.state != SUPERSEDED)
            .group_by(RunCustomer.rfm_segment, Offer.scenario, Offer.product_id))
    with db.engine.connect() as conn:
        frame = pd.read_sql_query(stmt, conn)
    return frame.astype({"segment": "string", "scenario": "string", "product_pk": "int64", "offers": "int64",
                         "lowest_score": "float64"})


def count_from_cube(cube: pd.DataFrame, families: pd.Series | None, *, segment: Choice = None,
                    scenario: Choice = None, family: Choice = None, min_score: float | None = None) -> int | None:
    """:func:`crm_core.views.offers.count_offers` summed from :func:`offer_count_cube`.

    Returns None when a minimum score above the run's lowest score needs the offers themselves.
    """
    if min_score is not None and len(cube) and float(min_score) > cube["lowest_score"].min():
        return None
    keep = np.ones(len(cube), dtype=bool)
    segments, scenarios = _as_list(segment), _as_list(scenario)
    if segments is not None:
        keep &= cube["segment"].isin(segments).fillna(False).to_numpy(dtype=bool)
    if scenarios is not None:
        keep &= cube["scenario"].isin(scenarios).fillna(False).to_numpy(dtype=bool)
    pks = family_product_pks(families, _as_list(family)) if family is not None else None
    if pks is not None:
        keep &= cube["product_pk"].isin(pks).to_numpy(dtype=bool)
    return int(cube["offers"].to_numpy()[keep].sum())
