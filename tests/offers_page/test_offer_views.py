"""offer_views against a real SQLite file: joins, filters, order, families, explanations, counts."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_core.errors import NotFound
from crm_core.views import offers as ov
from crm_core.views.runs import latest_run_id

BEST_FIRST = [("C1", "P1"), ("C2", "P2"), ("C1", "P3"), ("C3", "P4"), ("C2", "P1"), ("C4", "P2")]


def _pairs(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(frame["customer_id"], frame["product_id"]))


def test_latest_run_is_the_newest_succeeded_one(offer_run):
    db, ids = offer_run
    assert latest_run_id(db, ids.workspace_id) == ids.run_id  # the newer failed run is skipped
    assert latest_run_id(db, ids.workspace_id + 1) is None


def test_offers_frame_has_every_offer_of_the_run_best_score_first(offer_run):
    db, ids = offer_run
    frame = ov.offers_frame(db, ids.run_id)
    assert list(frame.columns) == ov.OFFER_VIEW_COLUMNS
    assert _pairs(frame) == BEST_FIRST  # and nothing of the older run
    first = frame.iloc[0]
    assert (first["rank"], first["product_name"], first["scenario"], first["match_pct"]) == (1, "Teapot", "REBUY", 91)
    assert first["score"] == pytest.approx(0.91) and first["expected_revenue"] == pytest.approx(9.1)
    assert (first["affinity"], first["popularity"], first["profit"], first["scenario_fit"]) == (0.9, 0.7, 0.5, 1.0)
    assert (first["segment"], first["segment_label"], first["gate"], first["state"]) == \
        ("CHAMPIONS", "Champions", "PASS", "pending")
    assert frame["flags"].tolist()[-2:] == ["LOW_SCORE", "LOW_SCORE"]
    assert frame["customer_id"].dtype == "string" and frame["rank"].dtype == "int64"


def test_a_component_without_data_reads_as_nan(offer_run):
    db, ids = offer_run
    frame = ov.offers_frame(db, ids.run_id)
    assert frame.loc[frame["product_id"] == "P2", "profit"].isna().tolist() == [True, False]


def test_customer_without_a_segment_is_unsegmented(offer_run):
    db, ids = offer_run
    last = ov.offers_frame(db, ids.run_id).iloc[-1]
    assert last["customer_id"] == "C4" and pd.isna(last["segment"]) and last["segment_label"] == "Unsegmented"


def test_family_is_catalog_then_most_common_category_then_the_product(offer_run):
    db, ids = offer_run
    family = ov.offers_frame(db, ids.run_id).set_index("product_id")["family"]
    assert family[~family.index.duplicated()].to_dict() == {"P1": "Kitchen", "P2": "Garden", "P3": "Candles",
                                                            "P4": "P4"}


def test_explanations_are_rendered_with_their_numbers_and_the_run_top_n(offer_run):
    db, ids = offer_run
    text = dict(zip(_pairs(ov.offers_frame(db, ids.run_id)), ov.offers_frame(db, ids.run_id)["explanation"]))
    assert text[("C1", "P1")] == "Bought Teapot 4 times, last 96 days ago (usually every 60 days)"
    assert text[("C2", "P2")] == "38 % of customers who bought Teapot also bought Trowel"
    assert "12 orders in the last 90 days" in text[("C1", "P3")]
    assert "fewer than 2 REBUY offers" in text[("C1", "P3")]  # the run's top_n, not the default 3


@pytest.mark.parametrize(("filters", "expected"), [
    ({"segment": "CHAMPIONS"}, [("C1", "P1"), ("C1", "P3"), ("C3", "P4")]),
    ({"segment": ["LOST", "CHAMPIONS"], "min_score": 0.6}, [("C1", "P1"), ("C2", "P2"), ("C1", "P3")]),
    ({"scenario": ["UPSELL", "NURTURE"]}, [("C2", "P1"), ("C4", "P2")]),
    ({"family": "Kitchen"}, [("C1", "P1"), ("C2", "P1")]),
    ({"family": ["Candles", "P4"]}, [("C1", "P3"), ("C3", "P4")]),
    ({"family": "Garden", "scenario": "CROSS_SELL"}, [("C2", "P2")]),
    ({"min_score": 0.8}, [("C1", "P1"), ("C2", "P2")]),
    ({"segment": "NEW"}, []),
    ({"family": []}, []),
])
def test_filters_narrow_the_offers_and_the_count_agrees(offer_run, filters, expected):
    db, ids = offer_run
    frame = ov.offers_frame(db, ids.run_id, **filters)
    assert _pairs(frame) == expected
    assert ov.count_offers(db, ids.run_id, **filters) == len(expected)


def test_limit_keeps_the_best_scores(offer_run):
    db, ids = offer_run
    assert _pairs(ov.offers_frame(db, ids.run_id, limit=2)) == BEST_FIRST[:2]


def test_customer_offers_are_by_rank_and_take_the_id_as_the_source_gives_it(offer_run):
    db, ids = offer_run
    mine = ov.customer_offers(db, ids.run_id, " C2 ")
    assert mine["rank"].tolist() == [1, 2] and mine["product_id"].tolist() == ["P2", "P1"]
    assert list(mine.columns) == ov.OFFER_VIEW_COLUMNS
    assert ov.customer_offers(db, ids.run_id, "NOBODY").empty
    assert ov.customer_offers(db, None, "C2").empty
    old = ov.customer_offers(db, ids.old_run_id, "C1")
    assert old["product_id"].tolist() == ["P4"] and old["rank"].tolist() == [1]


def test_offer_counts_by_segment_and_scenario(offer_run):
    db, ids = offer_run
    counts = ov.offer_counts(db, ids.run_id)
    assert list(counts.columns) == ["segment", "segment_label", "scenario", "offers", "customers"]
    got = {(None if pd.isna(s) else s, sc): (o, c) for s, sc, o, c in
           zip(counts["segment"], counts["scenario"], counts["offers"], counts["customers"])}
    assert got == {("CHAMPIONS", "REBUY"): (1, 1), ("CHAMPIONS", "CROSS_SELL"): (1, 1),
                   ("CHAMPIONS", "WINBACK"): (1, 1), ("LOST", "CROSS_SELL"): (1, 1), ("LOST", "UPSELL"): (1, 1),
                   (None, "NURTURE"): (1, 1)}
    assert counts["segment"].iloc[0] == "CHAMPIONS"  # the segment with most offers first
    assert counts["scenario"].tolist()[:3] == ["REBUY", "CROSS_SELL", "WINBACK"]  # scenarios in their order
    assert counts["offers"].sum() == 6


def test_offer_count_rows_repeat_each_count(offer_run):
    db, ids = offer_run
    rows = ov.offer_count_rows(ov.offer_counts(db, ids.run_id))
    assert rows["offers"].sum() == 6 and len(rows) == 6  # six (segment, scenario) pairs of one offer each
    assert rows.groupby("segment")["offers"].sum().to_dict() == {"Champions": 3, "Lost": 2, "Unsegmented": 1}


def test_offer_scores_sample_every_kth_offer_deterministically(offer_run):
    db, ids = offer_run
    every = ov.offer_scores(db, ids.run_id)
    assert sorted(every["score"]) == pytest.approx([0.25, 0.40, 0.55, 0.62, 0.80, 0.91])
    assert every.attrs["sample_every"] == 1
    sample = ov.offer_scores(db, ids.run_id, max_rows=2)
    assert sample.attrs["sample_every"] == 3 and len(sample) == 2
    assert sample.equals(ov.offer_scores(db, ids.run_id, max_rows=2))
    assert ov.offer_scores(db, ids.run_id, scenario="REBUY")["score"].tolist() == [0.91]


def test_filter_choices_list_what_the_run_has(offer_run):
    db, ids = offer_run
    choices = ov.offer_filter_choices(db, ids.run_id)
    assert choices.segments == ("CHAMPIONS", "LOST")
    assert choices.scenarios == ("REBUY", "CROSS_SELL", "UPSELL", "WINBACK", "NURTURE")
    assert choices.families == ("Candles", "Garden", "Kitchen", "P4")


def test_offer_run_reads_the_run_settings(offer_run):
    db, ids = offer_run
    run = ov.offer_run(db, ids.run_id)
    assert (run.offers, run.customers, run.top_n) == (6, 4, 2)
    assert run.weights == {"affinity": 0.5, "popularity": 0.2, "profit": 0.2, "scenario_fit": 0.1}
    old = ov.offer_run(db, ids.old_run_id)  # stored without settings: the defaults
    assert old.top_n == 3 and old.weights["affinity"] == 0.4
    with pytest.raises(NotFound, match="no pipeline run #999"):
        ov.offer_run(db, 999)


def test_customer_offers_find_the_customer_and_its_offers_by_index_not_by_scanning_the_run(offer_run):
    """The lookup names the run's workspace, so the unique (workspace_id, customer_code) index finds the customer
    and (run_id, customer_id, rank) its offers: no SCAN of the run's offers (seconds on a million customers)."""
    from sqlalchemy import event

    db, ids = offer_run
    seen = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "customer_code = " in statement and "FROM offers" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        assert ov.customer_offers(db, ids.run_id, "C2")["product_id"].tolist() == ["P2", "P1"]
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert len(seen) == 1
    with db.engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + seen[0][0], seen[0][1]).all()]
    assert any("customers USING COVERING INDEX" in p and "workspace_id=? AND customer_code=?" in p for p in plan), plan
    assert any(p.startswith("SEARCH offers USING INDEX") and "customer_id=?" in p for p in plan), plan
    assert not any(p.startswith("SCAN") for p in plan), plan


def test_a_run_keeps_the_families_it_used_and_they_agree_with_the_catalog_and_lines(tmp_path, analyst, monkeypatch):
    from sqlalchemy import select, update

    from crm_core.config import Config
    from crm_core.services.pipeline import run_pipeline
    from crm_core.store import Database
    from crm_core.store.models import Offer, PipelineRun
    from crm_core.views.workspaces import get_workspace
    from tests.app.sample_db import build_sample_database

    url = f"sqlite:///{tmp_path / 'families.db'}"
    build_sample_database(url, with_users=False, with_bank=False)
    db = Database.open(url)
    run_id = run_pipeline(db, get_workspace(db, "shop"), analyst, Config()).run_id
    with db.read() as s:
        kept = s.scalar(select(PipelineRun.families_json).where(PipelineRun.id == run_id))
        offered = sorted(set(s.scalars(select(Offer.product_id).where(Offer.run_id == run_id))))
    assert sorted(int(k) for k in kept) == offered  # every offered product, nothing else
    from crm_core.views import product_families as pf

    worked_out = pf._families_from_lines(db, offered)
    assert worked_out.to_dict() == {int(k): v for k, v in kept.items()}  # what the pages computed before
    real = pf._families_from_lines
    monkeypatch.setattr(pf, "_families_from_lines", lambda *a: pytest.fail("read the sales lines again"))
    families = ov.product_families(db, run_id)
    assert families.to_dict() == worked_out.to_dict() and families.index.name == "pk"
    monkeypatch.setattr(pf, "_families_from_lines", real)
    with db.unit_of_work() as s:  # a run stored before revision 0009 keeps none: worked out as before
        s.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(families_json=None))
    assert ov.product_families(db, run_id).to_dict() == worked_out.to_dict()
    db.engine.dispose()
