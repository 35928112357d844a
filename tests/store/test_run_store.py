"""persist_run_results: bulk rows read back exactly; the column-wise JSON encoder equals json.dumps."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crm_core.store.models import Customer, Offer, PipelineRun, Product, RunCluster, RunCustomer, Workspace
from crm_core.json_columns import json_objects, json_records
from crm_core.store.run_store import RunRowsUnknown, persist_run_results

CODES = ["007", "13085", "x'y"]


def stored_world(db, name: str = "shop") -> tuple[int, int]:
    """A workspace with three customers, two products and a running PipelineRun."""
    with db.unit_of_work() as s:
        ws = Workspace(name=name, currency_decimals=2)
        s.add(ws)
        s.flush()
        s.add_all([Customer(workspace_id=ws.id, customer_code=c) for c in CODES])
        s.add_all([Product(workspace_id=ws.id, product_code=p) for p in ("P1", "P2")])
        run = PipelineRun(workspace_id=ws.id, run_uuid=f"u-{name}", status="running", as_of=dt.date(2024, 6, 30),
                          config_json={}, config_hash="c", data_hash="d", created_by="ann")
        s.add(run)
        s.flush()
        return ws.id, run.id


def run_frames():
    customers = pd.DataFrame({
        "first_purchase": pd.to_datetime(["2024-01-02", "2023-05-06", "2024-06-30"]),
        "last_purchase": pd.to_datetime(["2024-03-04", "2024-06-01", "2024-06-30"]),
        "recency_days": [118, 29, 0], "frequency": [2, 7, 1], "monetary": [10.005, -3.3, 0.1 + 0.2],
        "r_score": pd.array([2, 5, pd.NA], dtype="Int64"), "f_score": [3, 5, 1], "m_score": [1.0, 2.0, np.nan],
        "rfm_segment": pd.array(["LOST", "CHAMPIONS", None], dtype="string"),
        "cluster": pd.array([0, 1, pd.NA], dtype="Int64"), "persona": ["a", "b", "c"],
        "expected_purchases": [0.5, np.nan, 1.25], "clv": [1.0, 2.0, np.inf], "p_alive": [0.1, 0.9, 1.0],
        "churn_risk": pd.Categorical(["high", "low", None]),
        "tenure_days": [180.0, 421.0, 0.0], "churn_score": [0.1234567891, np.nan, 1.0], "held": [True, False, True],
        "n_holdings": pd.array([2, pd.NA, 0], dtype="Int64"),
    }, index=pd.Index(pd.array(CODES, dtype="string"), name="customer_id"))
    offers = pd.DataFrame({
        "customer_id": pd.array(["007", "007", "x'y"], dtype="string"), "rank": [1, 2, 1],
        "product_id": pd.array(["P1", "P2", "P2"], dtype="string"), "family": ["F", "F", "G"],
        "scenario": ["REBUY", "CROSS_SELL", "WINBACK"], "score": [0.9, 0.5, 0.25],
        "affinity": [1.0, np.nan, 0.3], "popularity": [0.1 + 0.2, 0.0, 1e-7], "profit": [np.nan] * 3,
        "scenario_fit": [1.0, 0.5, 0.25], "explanation_code": ["REBUY_DUE", "CROSS_SELL_POPULAR", "WINBACK_FAV"],
        "explanation_params": [{"product": 'Mug "XL"', "times": 3, "price": 12.5, "anchor": None, "filled": False},
                               {"product": "Tea\ttin", "share_pct": np.int64(40), "usual_price": np.nan},
                               None],
        "explanation": ["a", "b", "c"], "expected_revenue": [12.5, np.nan, 3.0],
        "audit_score": [pd.NA, 80, pd.NA], "gate": ["UNGATED", "PASS", "UNGATED"], "flags": ["", "LOW_SCORE", ""],
    })
    clusters = pd.DataFrame({"cluster": [0, 1], "size": [2, 1], "persona_code": ["A", "B"],
                             "persona_name": ["Alpha", "Beta"], "description": ["d0", "d1"],
                             "profile": [{"monetary": 1.5, "x": float("nan")}, {}]})
    return customers, offers, clusters


def test_rows_read_back_exactly(db):
    ws_id, run_id = stored_world(db)
    customers, offers, clusters = run_frames()
    with db.unit_of_work() as s:
        persist_run_results(s, ws_id, run_id, customers, offers, clusters, submitted_by="ann")
    with db.read() as s:
        pk = dict(s.execute(select(Customer.id, Customer.customer_code)).all())
        rc = {pk[r.customer_id]: r for r in s.scalars(select(RunCustomer).where(RunCustomer.run_id == run_id))}
        of = sorted(s.scalars(select(Offer).where(Offer.run_id == run_id)), key=lambda o: (pk[o.customer_id], o.rank))
        cl = s.scalars(select(RunCluster).order_by(RunCluster.cluster)).all()
        p1 = s.scalar(select(Product.id).where(Product.product_code == "P1"))
        assert set(rc) == set(CODES)
        a = rc["007"]
        assert (a.first_purchase, a.last_purchase) == (dt.date(2024, 1, 2), dt.date(2024, 3, 4))
        assert (a.recency_days, a.frequency, a.monetary_minor) == (118, 2, 1001)
        assert (a.r_score, a.m_score, a.rfm_segment, a.cluster, a.churn_risk) == (2, 1, "LOST", 0, "high")
        assert a.features_json == {"tenure_days": 180.0, "churn_score": 0.123457, "held": True, "n_holdings": 2}
        assert type(a.features_json["n_holdings"]) is int and type(a.features_json["tenure_days"]) is float
        c = rc["x'y"]
        assert c.r_score is None and c.rfm_segment is None and c.cluster is None and c.churn_risk is None
        assert c.monetary_minor == 30 and math.isinf(c.clv)
        assert rc["13085"].expected_purchases is None and rc["13085"].features_json["churn_score"] is None
        assert rc["13085"].features_json["n_holdings"] is None and rc["13085"].features_json["held"] is False
        assert rc["13085"].monetary_minor == -330
        assert [(pk[o.customer_id], o.rank) for o in of] == [("007", 1), ("007", 2), ("x'y", 1)]
        first = of[0]
        assert first.product_id == p1 and first.scenario == "REBUY" and first.score == 0.9
        assert first.components_json == {"affinity": 1.0, "popularity": 0.1 + 0.2, "profit": None, "scenario_fit": 1.0}
        assert first.explanation_params_json == {"product": 'Mug "XL"', "times": 3, "price": 12.5, "anchor": None,
                                             "filled": False}
        assert of[1].explanation_params_json == {"product": "Tea\ttin", "share_pct": 40, "usual_price": None}
        assert of[2].explanation_params_json == {}
        assert first.audit_score is None and of[1].audit_score == 80
        assert first.flags is None and of[1].flags == "LOW_SCORE"
        assert {o.state for o in of} == {"pending"} and {o.submitted_by for o in of} == {"ann"}
        assert {o.version for o in of} == {1} and all(o.created_at is not None for o in of)
        assert of[0].expected_revenue == 12.5 and of[1].expected_revenue is None
        assert [(x.cluster, x.size, x.persona_name, x.profile_json) for x in cl] == [
        (0, 2, "Alpha", {"monetary": 1.5, "x": None}), (1, 1, "Beta", {})]


def test_unknown_customer_rolls_the_unit_of_work_back(db):
    ws_id, run_id = stored_world(db)
    customers, offers, clusters = run_frames()
    offers.loc[2, "customer_id"] = "NOPE"
    with pytest.raises(RunRowsUnknown, match="NOPE"):
        with db.unit_of_work() as s:
            persist_run_results(s, ws_id, run_id, customers, offers, clusters, submitted_by="ann")
    with db.read() as s:
        assert s.scalars(select(RunCustomer)).all() == []


def test_empty_offers_store_customers_only(db):
    ws_id, run_id = stored_world(db)
    customers, offers, _ = run_frames()
    with db.unit_of_work() as s:
        persist_run_results(s, ws_id, run_id, customers, offers.iloc[0:0], None, submitted_by="ann")
    with db.read() as s:
        assert len(s.scalars(select(RunCustomer)).all()) == 3 and s.scalars(select(Offer)).all() == []


def _plain(value):
    """What json.dumps + json.loads gives for a value NaN-free (NaN and infinity stored as null)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53),
                         st.floats(allow_nan=True, allow_infinity=True),
                         st.text(st.characters(exclude_categories=("Cs",)), max_size=12))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", 'q"k', "é"]), json_scalars, max_size=4), max_size=12))
def test_json_records_round_trip_like_json_dumps(records):
    texts = json_records(records)
    assert len(texts) == len(records)
    for text, record in zip(texts, records):
        back = json.loads(text)
        assert list(back) == list(record)
        for key, value in record.items():
            want = _plain(value)
            if isinstance(want, float) and isinstance(back[key], float):
                assert back[key] == want or (want == 0 and back[key] == 0)
            else:
                assert back[key] == want


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=20))
def test_json_objects_keep_floats_exact_and_floats(values):
    texts = json_objects({"v": np.array(values, dtype="float64")})
    for text, value in zip(texts, values):
        back = json.loads(text)["v"]
        if math.isfinite(value):
            assert back == value and isinstance(back, float)
        else:
            assert back is None


def test_nested_values_fall_back_to_json_dumps():
    texts = json_records([{"a": [1, 2], "b": {"c": None}}, {"a": {"x": 1}}, {1: "int key"}])
    assert [json.loads(t) for t in texts] == [{"a": [1, 2], "b": {"c": None}}, {"a": {"x": 1}}, {"1": "int key"}]


def _stored_rows(db, run_id: int) -> dict:
    from sqlalchemy import text

    with db.read() as s:
        return {table: s.execute(text(f"SELECT * FROM {table} WHERE run_id = :r ORDER BY id"), {"r": run_id}).all()
                for table in ("run_customers", "offers")}


def test_rows_stored_in_chunks_are_the_rows_stored_at_once(tmp_path, monkeypatch):
    import crm_core.store.run_store as run_store
    from crm_core.store import Database

    stored = []
    for chunk in (10**9, 1, 2):
        monkeypatch.setattr(run_store, "CHUNK_ROWS", chunk)
        db = Database.open(f"sqlite:///{tmp_path / f'chunk{chunk}.db'}")
        db.upgrade()
        ws_id, run_id = stored_world(db)
        customers, offers, clusters = run_frames()
        with db.unit_of_work() as s:
            persist_run_results(s, ws_id, run_id, customers, offers.iloc[::-1], clusters, submitted_by="ann")
        rows = _stored_rows(db, run_id)
        created = {r.created_at for r in rows["offers"]}
        assert len(created) == 1  # one time for the whole run
        stored.append({"run_customers": rows["run_customers"],
                       "offers": [tuple(v for k, v in r._mapping.items() if k != "created_at") for r in rows["offers"]]})
    assert len(stored[0]["offers"]) == 3 and len(stored[0]["run_customers"]) == 3
    assert stored[1] == stored[0] and stored[2] == stored[0]  # same ids, same order, same values


def test_engine_parameters_are_stored_as_their_text(db, monkeypatch):
    """The engine's ParamsArray goes in as the JSON it holds (no dict per offer), and reads back the same."""
    from crm_core.recommend.params_array import ParamsArray
    from crm_core.store import run_store

    ws_id, run_id = stored_world(db)
    customers, offers, clusters = run_frames()
    params = offers["explanation_params"].tolist()
    offers["explanation_params"] = ParamsArray._from_sequence(params)
    monkeypatch.setattr(run_store, "json_records", lambda records: pytest.fail("dicts encoded again"))
    with db.unit_of_work() as s:
        persist_run_results(s, ws_id, run_id, customers, offers, clusters, submitted_by="ann")
    with db.read() as s:
        pk = dict(s.execute(select(Customer.id, Customer.customer_code)).all())
        stored = sorted(s.scalars(select(Offer).where(Offer.run_id == run_id)), key=lambda o: (pk[o.customer_id], o.rank))
        stored = [o.explanation_params_json for o in stored]
    assert stored == [
        {"product": 'Mug "XL"', "times": 3, "price": 12.5, "anchor": None, "filled": False},
        {"product": "Tea\ttin", "share_pct": 40, "usual_price": None}, {}]
