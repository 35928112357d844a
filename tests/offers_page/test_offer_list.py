"""OfferList (the Offers page's kept list) gives the rows and counts SQL gives, on hand-built and real runs."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select, update

from crm_core.store.models import Customer, Offer
from crm_core.views import offers as ov
from crm_core.views.offer_list import list_choices, list_counts, list_page, list_scores, offer_list, offers_by_id
from crm_core.views.runs import latest_run_id

FILTERS = [
    {},
    {"segment": "CHAMPIONS"},
    {"segment": ["LOST", "CHAMPIONS"], "min_score": 0.6},
    {"scenario": ["UPSELL", "NURTURE"]},
    {"family": "Kitchen"},
    {"family": ["Candles", "P4"]},
    {"family": "Garden", "scenario": "CROSS_SELL"},
    {"min_score": 0.8},
    {"min_score": 0.55},
    {"segment": "NEW"},
    {"family": []},
    {"segment": []},
]


def _same(db, run_id, kept, families, filters, limit):
    count, page = list_page(db, kept, families, limit=limit, **filters)
    expected = ov.offers_frame(db, run_id, limit=limit, families=families, **filters)
    assert count == ov.count_offers(db, run_id, families=families, **filters), filters
    assert page["offer_id"].tolist() == expected["offer_id"].tolist(), filters
    assert page.equals(expected), filters  # every column, rendered the same way
    return count, page


@pytest.mark.parametrize("filters", FILTERS)
@pytest.mark.parametrize("limit", [2, 100])
def test_the_kept_list_gives_what_sql_gives(offer_run, filters, limit):
    db, ids = offer_run
    families = ov.product_families(db, ids.run_id)
    _same(db, ids.run_id, offer_list(db, ids.run_id), families, filters, limit)


def test_ties_are_ordered_by_customer_id_then_rank_as_in_sql(offer_run):
    db, ids = offer_run
    with db.unit_of_work() as s:  # every score the same; customer ids whose key order is not their text order
        s.execute(update(Offer).where(Offer.run_id == ids.run_id).values(score=0.5))
        for code, new in (("C1", "c-lower"), ("C2", "Ä-umlaut"), ("C3", "B10"), ("C4", "B9")):
            s.execute(update(Customer).where(Customer.customer_code == code).values(customer_code=new))
    families = ov.product_families(db, ids.run_id)
    kept = offer_list(db, ids.run_id)
    count, page = _same(db, ids.run_id, kept, families, {}, 100)
    assert count == 6
    assert list(zip(page["customer_id"], page["rank"])) == [("B10", 1), ("B9", 1), ("c-lower", 1), ("c-lower", 2),
                                                            ("Ä-umlaut", 1), ("Ä-umlaut", 2)]


def test_superseded_offers_stay_out_and_a_missing_key_is_skipped(offer_run):
    db, ids = offer_run
    with db.unit_of_work() as s:  # an offer an analyst replaced by hand
        s.execute(update(Offer).where(Offer.run_id == ids.run_id, Offer.scenario == "WINBACK")
                  .values(state="superseded"))
    families = ov.product_families(db, ids.run_id)
    kept = offer_list(db, ids.run_id)
    assert len(kept) == 5 and kept.score.min() == pytest.approx(0.25)
    for filters in ({}, {"segment": "CHAMPIONS"}, {"scenario": "WINBACK"}, {"family": ["P4", "Kitchen"]}):
        _same(db, ids.run_id, kept, families, filters, 10)
    first_two = kept.offer_id[kept.matches(families)][:2]
    assert offers_by_id(db, ids.run_id, np.array([*first_two, 10_000]), families)["offer_id"].tolist() == \
        first_two.tolist()
    with pytest.raises(ValueError):
        kept.matches(None, family="Kitchen")


def test_an_empty_run_lists_nothing(offer_run):
    db, ids = offer_run
    kept = offer_list(db, ids.failed_run_id)
    assert len(kept) == 0
    count, page = list_page(db, kept, ov.product_families(db, ids.failed_run_id), limit=10, segment="CHAMPIONS")
    assert count == 0 and page.empty and list(page.columns) == ov.OFFER_VIEW_COLUMNS


def test_a_real_run_lists_as_sql_does_on_every_segment_scenario_and_family(page_db):
    db = page_db
    with db.read() as s:
        workspace_id = s.scalar(select(Customer.workspace_id).limit(1))
    run_id = latest_run_id(db, workspace_id)
    families = ov.product_families(db, run_id)
    kept = offer_list(db, run_id)
    choices = ov.offer_filter_choices(db, run_id, families=families)
    assert len(kept) == ov.count_offers(db, run_id) > 100
    assert len(np.unique(kept.score)) < len(kept)  # the real run has ties: the order below is tested on them
    cases = [{}, {"min_score": float(np.median(kept.score))}, {"segment": list(choices.segments[:2])},
             {"scenario": choices.scenarios[-1]}, {"family": list(choices.families[:3]), "min_score": 0.3}]
    cases += [{"segment": code} for code in choices.segments]
    for filters in cases:
        _same(db, run_id, kept, families, filters, 50)


def _summaries_agree(db, run_id):
    families = ov.product_families(db, run_id)
    kept = offer_list(db, run_id)
    counts = list_counts(kept)
    assert counts.equals(ov.offer_counts(db, run_id)), counts
    for max_rows in (50_000, 7, 2, 1):
        sample = list_scores(kept, max_rows=max_rows)
        expected = ov.offer_scores(db, run_id, max_rows=max_rows)
        assert sample.equals(expected) and sample.attrs == expected.attrs, max_rows
    assert list_choices(kept, families) == ov.offer_filter_choices(db, run_id, families=families)
    return kept


def test_the_pages_summaries_come_from_the_kept_list_as_sql_gives_them(offer_run):
    db, ids = offer_run
    kept = _summaries_agree(db, ids.run_id)
    assert list_counts(kept)["offers"].sum() == 6


def test_a_real_runs_summaries_come_from_the_kept_list_as_sql_gives_them(page_db):
    db = page_db
    with db.read() as s:
        workspace_id = s.scalar(select(Customer.workspace_id).limit(1))
    kept = _summaries_agree(db, latest_run_id(db, workspace_id))
    assert list_counts(kept)["customers"].sum() > list_counts(kept)["segment"].nunique()


def test_superseded_offers_are_not_in_the_kept_summaries(offer_run):
    db, ids = offer_run
    with db.unit_of_work() as s:
        s.execute(update(Offer).where(Offer.run_id == ids.run_id, Offer.scenario == "WINBACK")
                  .values(state="superseded"))
    kept = offer_list(db, ids.run_id)
    assert list_counts(kept)["offers"].sum() == ov.count_offers(db, ids.run_id) == 5
    assert "WINBACK" not in list_choices(kept, ov.product_families(db, ids.run_id)).scenarios
    assert list_scores(kept).equals(ov.offer_scores(db, ids.run_id))  # the score chart always left them out
