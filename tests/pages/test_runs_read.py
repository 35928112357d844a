"""crm_core.views.runs against a real SQLite file: history, per-customer results, clusters, comparison."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest

from crm_core.errors import NotFound
from crm_core.views import runs
from crm_core.views.run_comparison import RunsNotComparable, compare_runs
from tests.pages.stored_runs import build


@pytest.fixture
def stored(db):
    return build(db)


def test_list_runs_is_the_history_newest_first(db, stored):
    history = runs.list_runs(db, stored.shop_id)
    assert history["id"].tolist() == [stored.run_failed, stored.run_b, stored.run_a]
    assert history["status"].tolist() == ["failed", "succeeded", "succeeded"]
    ok = history.set_index("id").loc[stored.run_a]
    assert ok["as_of"] == pd.Timestamp("2024-01-31")
    assert ok["created_by"] == "ann" and ok["seconds"] == 12.5
    assert (ok["customers"], ok["offers"], ok["clusters"], ok["transactions"]) == (4, 0, 2, 3)
    assert (ok["method"], ok["k"]) == ("kmeans", 2)
    assert ok["timings"] == "load 0.50s · segments 2.25s"
    assert ok["config_hash"] == "c" * 64 and ok["data_hash"] == "0" * 64
    failed = history.set_index("id").loc[stored.run_failed]
    assert pd.isna(failed["customers"]) and "boom" in failed["error"]
    assert runs.list_runs(db, stored.other_id).empty


def test_latest_and_succeeded_runs_skip_the_failed_one(db, stored):
    assert runs.latest_run(db, stored.shop_id).id == stored.run_b
    assert [r.id for r in runs.succeeded_runs(db, stored.shop_id)] == [stored.run_b, stored.run_a]
    assert runs.latest_run(db, stored.other_id) is None
    info = runs.get_run(db, stored.run_a)
    assert info.value_model_note == "value model: only 3 repeat customers"
    assert info.label == f"#{stored.run_a} · as of 2024-01-31 · by ann"
    assert runs.get_run(db, stored.run_failed).label.endswith("(failed)")


def test_a_run_of_another_workspace_is_not_found(db, stored):
    with pytest.raises(NotFound, match=f"#{stored.run_a}"):
        runs.get_run(db, stored.run_a, workspace_id=stored.other_id)
    with pytest.raises(runs.RunNotFound):
        runs.run_customers(db, 999)


def test_run_customers_has_every_column_with_exact_values(db, stored):
    frame = runs.run_customers(db, stored.run_a)
    assert frame.index.tolist() == ["C1", "C2", "C3", "C4"]
    assert tuple(frame.columns) == runs.RUN_CUSTOMER_COLUMNS
    c1 = frame.loc["C1"]
    assert c1["monetary"] == 123.45  # minor units back to pounds
    assert (c1["rfm_segment"], c1["segment"]) == ("CHAMPIONS", "Champions")
    assert (c1["cluster"], c1["persona_name"]) == (1, "Loyalists")
    assert (c1["clv"], c1["p_alive"], c1["churn_score"], c1["churn_risk"]) == (300.0, 0.9, 0.1, "low")
    assert (c1["name"], c1["region"], c1["city"]) == ("Ada Smith", "North", "Leeds")
    assert c1["first_purchase"] == pd.Timestamp("2023-01-10")
    c3 = frame.loc["C3"]
    assert pd.isna(c3["clv"]) and pd.isna(c3["churn_risk"]) and pd.isna(c3["region"])  # never an invented number
    assert str(frame["clv"].dtype) == "Float64" and str(frame["cluster"].dtype) == "Int64"
    assert frame.loc["C4", "segment"] == "Lost"


def test_run_clusters_carry_personas_and_profiles(db, stored):
    clusters = runs.run_clusters(db, stored.run_a)
    assert clusters.index.tolist() == [1, 2]
    assert clusters["persona_name"].tolist() == ["Loyalists", "Lapsed"]
    assert clusters["share"].tolist() == [0.5, 0.5]
    assert clusters.loc[1, "median_monetary"] == 101.725
    assert pd.isna(clusters.loc[2, "median_frequency"])


def test_cluster_points_place_every_sampled_customer(db, stored):
    points = runs.cluster_points(db, stored.run_a)
    assert sorted(points.index) == ["C1", "C2", "C3", "C4"]
    assert points.loc["C3", "cluster"] == 2
    assert set(points.columns) == {"x", "y", "cluster"}
    sampled = runs.cluster_points(db, stored.run_a, sample=2, seed=1)
    assert len(sampled) == 2
    assert sampled.index.tolist() == runs.cluster_points(db, stored.run_a, sample=2, seed=1).index.tolist()


def test_compare_runs_finds_the_slipped_champion(db, stored):
    view = compare_runs(db, stored.run_a, stored.run_b)
    assert (view.before.id, view.after.id) == (stored.run_a, stored.run_b)
    assert view.stability == 1.0  # same clusters in both runs
    assert (view.customers_both, view.only_before, view.only_after) == (4, 0, 0)
    assert view.slipped["customer_id"].tolist() == ["C1"]
    row = view.slipped.iloc[0]
    assert (row["name"], row["segment_before"], row["segment_after"]) == ("Ada Smith", "Champions", "At Risk")
    assert (row["clv_before"], row["clv_after"]) == (300.0, 50.0)
    assert view.migration.loc["CHAMPIONS", "AT_RISK"] == 1
    assert view.migration.loc["LOST", "CANT_LOSE"] == 1
    assert int(view.migration.to_numpy().sum()) == 4


def test_slipped_csv_cannot_run_a_formula(db, stored):
    from sqlalchemy import update

    from crm_core.store.models import RunCustomer

    with db.unit_of_work() as s:  # make C4 (named =HYPERLINK(...)) a slipped Loyal customer
        s.execute(update(RunCustomer).where(RunCustomer.run_id == stored.run_a, RunCustomer.monetary_minor == 100)
                  .values(rfm_segment="LOYAL"))
    view = compare_runs(db, stored.run_a, stored.run_b)
    assert view.slipped["customer_id"].tolist() == ["C1", "C4"]  # most valuable first
    back = pd.read_csv(io.BytesIO(view.slipped_csv()), dtype=str)
    assert back.loc[1, "name"] == "'=HYPERLINK(\"http://x\") Smith"
    assert back.loc[0, "monetary_before"] == "123.45"


def test_compare_refuses_a_failed_run_and_another_workspace(db, stored):
    with pytest.raises(RunsNotComparable, match="failed"):
        compare_runs(db, stored.run_a, stored.run_failed)
    from crm_core.store.models import PipelineRun

    with db.unit_of_work() as s:
        foreign = PipelineRun(workspace_id=stored.other_id, run_uuid="f" * 36, status="succeeded",
                              as_of=dt.date(2024, 3, 31), config_json={}, config_hash="c" * 64, data_hash="d" * 64,
                              created_by="bo")
        s.add(foreign)
        s.flush()
        foreign_id = foreign.id
    with pytest.raises(RunsNotComparable, match="different workspaces"):
        compare_runs(db, stored.run_a, foreign_id)


def test_migration_table_uses_labels(db, stored):
    table = compare_runs(db, stored.run_a, stored.run_b).migration_table()
    assert table.loc["Champions", "At Risk"] == 1
    assert "Not in run" in table.index and "CHAMPIONS" not in table.index


def test_as_of_bounds_are_the_first_and_last_transaction_days(db, stored):
    assert runs.as_of_bounds(db, stored.shop_id) == (dt.date(2024, 1, 5), dt.date(2024, 3, 1))
    assert runs.as_of_bounds(db, stored.other_id) == (None, None)


def test_a_run_whose_import_was_taken_back_is_labelled_stale(db, stored):
    from sqlalchemy import update

    from crm_core.store.models import PipelineRun

    with db.unit_of_work() as s:
        s.execute(update(PipelineRun).where(PipelineRun.id == stored.run_b).values(stale_reason="batch 3 taken back"))
    assert "stale" in runs.get_run(db, stored.run_b).label
    history = runs.list_runs(db, stored.shop_id).set_index("id")
    assert history.loc[stored.run_b, "stale"] == "batch 3 taken back" and pd.isna(history.loc[stored.run_a, "stale"])
