"""The Offers page's list at any size: a run's offers read once, kept in list order as compact columns.

:func:`crm_core.views.offers.offers_frame` filters and sorts in SQL, which at a million customers
(three million offers) costs SQLite seconds per filter: it sorts every matching offer by score,
customer and rank to keep the first thousand. :func:`offer_list` reads each standing offer of a run
once (its key, score, customer id, rank, scenario, product and its customer's segment) and puts
them in the list's order; then a filter is a mask over those columns, its count the mask's sum, and
the rows shown the first ``limit`` keys of the mask, read from the database by key
(:func:`list_page`). The rows and counts are those of ``offers_frame`` and
:func:`crm_core.views.offers.count_offers` for the same filters; customers whose scores tie are
ordered by their id compared character by character (SQLite's order; a PostgreSQL database
sorting in a language's collation may order such ties otherwise). The page's other readings of the
run come from the same list: the counts per segment and scenario (:func:`list_counts`), the score
sample (:func:`list_scores`) and the filter choices (:func:`list_choices`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select

from crm_core.store.models import Customer, Offer, PipelineRun, RunCustomer
from crm_core.views import offers as offer_views
from crm_core.views.offers import SUPERSEDED, Choice, choice_values, family_product_pks


@dataclass(frozen=True)
class OfferList:
    """A run's standing offers (not superseded) in the list's order: best score, then customer id, then rank.

    About 30 bytes per offer: 80 MB for the three million offers of a million customers.
    """

    run_id: int
    offer_id: np.ndarray  # int64
    score: np.ndarray  # float64
    product_pk: np.ndarray  # int64
    customer_pk: np.ndarray  # int64
    segment: pd.Categorical  # the customer's RFM segment code in the run (NaN: none)
    scenario: pd.Categorical

    def __len__(self) -> int:
        return len(self.offer_id)

    def matches(self, families: pd.Series | None, *, segment: Choice = None, scenario: Choice = None,
                family: Choice = None, min_score: float | None = None) -> np.ndarray:
        """Which offers pass the filters (as :func:`crm_core.views.offers.offers_frame` means them)."""
        keep = np.ones(len(self), dtype=bool)
        segments, scenarios = choice_values(segment), choice_values(scenario)
        if segments is not None:
            keep &= _in(self.segment, segments)
        if scenarios is not None:
            keep &= _in(self.scenario, scenarios)
        if min_score is not None:
            keep &= self.score >= float(min_score)
        if family is not None:
            if families is None:
                raise ValueError("a family filter needs the run's product families")
            keep &= np.isin(self.product_pk, np.asarray(family_product_pks(families, choice_values(family)),
                                                        dtype=np.int64))
        return keep


def offer_list(db, run_id: int) -> OfferList:
    """Read the run's standing offers once and order them (seconds at three million offers).

    Three plain reads (the offers, the workspace's customer ids, the run's segments) joined here by
    customer key: SQLite joins three million rows far slower than numpy does.
    """
    with db.engine.connect() as conn:
        workspace_id = conn.scalar(select(PipelineRun.workspace_id).where(PipelineRun.id == run_id))
        offers = _columns(conn.execute(
            select(Offer.id, Offer.customer_id, Offer.rank, Offer.score, Offer.scenario, Offer.product_id)
            .where(Offer.run_id == run_id, Offer.state != SUPERSEDED)), 6)
        customers = _columns(conn.execute(
            select(Customer.id, Customer.customer_code).where(Customer.workspace_id == workspace_id)), 2)
        segments = _columns(conn.execute(
            select(RunCustomer.customer_id, RunCustomer.rfm_segment).where(RunCustomer.run_id == run_id)), 2)
    offer_id, customer_pk, rank, score, scenario, product_pk = offers
    customer_pk = np.asarray(customer_pk, dtype=np.int64)
    # customer ids compared as Python compares str (code point by code point: SQLite's order for UTF-8 text)
    code_order = _order_of(np.asarray(customers[0], dtype=np.int64), np.asarray(customers[1], dtype=object),
                           customer_pk)
    score = np.asarray(score, dtype=np.float64)
    order = np.lexsort((np.asarray(rank, dtype=np.int64), code_order, -score))
    segment_of = pd.Series(np.asarray(segments[1], dtype=object), index=np.asarray(segments[0], dtype=np.int64))
    segment = segment_of.reindex(customer_pk[order]).to_numpy(dtype=object) if len(segment_of) else \
        np.full(len(order), None, dtype=object)
    return OfferList(run_id=int(run_id), offer_id=np.asarray(offer_id, dtype=np.int64)[order], score=score[order],
                     product_pk=np.asarray(product_pk, dtype=np.int64)[order], customer_pk=customer_pk[order],
                     segment=pd.Categorical(segment),
                     scenario=pd.Categorical(np.asarray(scenario, dtype=object)[order]))


def _columns(result, width: int) -> list[tuple]:
    """A result's rows as ``width`` column tuples (empty tuples without rows)."""
    rows = result.all()
    return list(zip(*rows)) if rows else [()] * width


def _order_of(pks: np.ndarray, codes: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Position of each ``wanted`` customer key's code in the sorted codes (equal codes, equal positions)."""
    ranks, _ = pd.factorize(codes, sort=True)
    by_pk = pd.Series(ranks, index=pks)
    return by_pk.reindex(wanted).to_numpy(dtype=np.int64)


def list_page(db, offers: OfferList, families: pd.Series, *, limit: int, **filters) -> tuple[int, pd.DataFrame]:
    """The count of offers passing the filters and the first ``limit`` of them, as ``offers_frame`` gives them.

    Args:
        db: the Database.
        offers: :func:`offer_list` of the run.
        families: :func:`crm_core.views.offers.product_families` of the run.
        limit: at most this many rows.
        **filters: ``segment``, ``scenario``, ``family``, ``min_score`` as for ``offers_frame``.
    Returns:
        (count, frame): the frame's columns are :data:`crm_core.views.offers.OFFER_VIEW_COLUMNS`.
    """
    keep = offers.matches(families, **filters)
    ids = offers.offer_id[keep][:max(int(limit), 0)]
    return int(np.count_nonzero(keep)), offers_by_id(db, offers.run_id, ids, families)


def offers_by_id(db, run_id: int, ids: np.ndarray, families: pd.Series) -> pd.DataFrame:
    """The offers ``ids`` of the run in that order (columns as ``offers_frame``); keys of no offer are left out."""
    wanted = [int(i) for i in ids]
    # run_id + 0: no index term, so SQLite looks the keys up instead of walking the run's offers for them
    stmt = offer_views.offer_columns().where(Offer.id.in_(wanted), (Offer.run_id + 0) == int(run_id))
    frame = offer_views._read(db, stmt) if wanted else pd.DataFrame(columns=offer_views._RAW_COLUMNS)
    position = pd.Series(np.arange(len(wanted)), index=pd.Index(wanted, dtype="int64"))
    frame = frame.iloc[np.argsort(position.reindex(frame["offer_id"].astype("int64")).to_numpy(), kind="stable")]
    return offer_views._shape(frame, families, offer_views.run_top_n(db, run_id))


def list_counts(offers: OfferList) -> pd.DataFrame:
    """Offers and customers per segment and scenario (:func:`crm_core.views.offers.offer_counts`'s table)
    of the standing offers, without reading them again."""
    frame = pd.DataFrame({"segment": offers.segment, "scenario": offers.scenario, "customer": offers.customer_pk})
    grouped = (frame.groupby(["segment", "scenario"], dropna=False, observed=True, sort=False)
               .agg(offers=("customer", "size"), customers=("customer", "nunique")).reset_index())
    grouped["segment"] = grouped["segment"].astype(object)
    grouped["scenario"] = grouped["scenario"].astype(object)
    return offer_views.counts_table(grouped)


def list_scores(offers: OfferList, *, max_rows: int = 50_000) -> pd.DataFrame:
    """Scenario and score of the standing offers, every k-th by key when more than ``max_rows``
    (:func:`crm_core.views.offers.offer_scores` without filters: the same rows)."""
    by_key = np.argsort(offers.offer_id, kind="stable")
    every = max(1, -(-len(offers) // max(int(max_rows), 1)))
    picked = by_key[::every]
    out = pd.DataFrame({"scenario": np.asarray(offers.scenario, dtype=object)[picked],
                        "score": offers.score[picked].astype("float64")})
    out.attrs["sample_every"] = every
    return out


def list_choices(offers: OfferList, families: pd.Series) -> offer_views.OfferFilterChoices:
    """The segments and scenarios of the standing offers and the run's families, as the filters list them."""
    return offer_views.filter_choices(_present(offers.segment), _present(offers.scenario), families)


def _present(values: pd.Categorical) -> list[str]:
    """The values that occur (a missing value left out)."""
    codes = np.unique(values.codes)
    return [str(values.categories[c]) for c in codes if c >= 0]



def _in(values: pd.Categorical, wanted: list[str]) -> np.ndarray:
    """Which entries of a categorical column are one of ``wanted`` (a missing value never is)."""
    codes = [values.categories.get_loc(w) for w in wanted if w in values.categories]
    return np.isin(values.codes, np.asarray(codes, dtype=values.codes.dtype))
