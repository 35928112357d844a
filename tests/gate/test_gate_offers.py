"""gate_offers as the pipeline sees it: columns, alignment, JSON-safe facts and details, determinism, size."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from crm_core.gate import (FACT_COLUMNS, FACT_FIELDS, GATE_COLUMNS, GateConfig, evaluate_rules, facts_frame,
                           gate_offers, offer_facts, render_flag_messages, run_quality)
from tests.gate.builders import (AS_OF, ago, customers_frame, gate_world, offers_frame, pairs_frame,
                                 products_frame)


def mixed_world():
    """Several customers and offers raising most flags, for whole-frame checks."""
    offers = offers_frame(("C1", "LAMP"), ("C1", "MUG", "REBUY"), ("C1", "RUG", "CROSS_SELL", 0.05),
                          ("C2", "LAMP", "UPSELL", 0.9), ("C3", "SOFA", "WINBACK"), ("C4", "MUG"))
    extra = [("C2", "x", ago(3), "LAMP", 25.0), ("C3", "s", ago(500), "MUG", 900.0),
             ("C4", "y", ago(7), "MUG", 30.0), ("C4", "z", ago(9), "LAMP", 30.0)]
    customers = customers_frame({"C1": (True, False, ago(100)), "C2": (False, False, ago(2)),
                                 "C4": (True, True, None)})
    products = products_frame({"LAMP": {"price": 25.0, "unit_cost": 24.0}, "MUG": {"price": 30.0},
                               "SOFA": {"price": 999.0, "active": False}})
    exports = pairs_frame([("C1", "LAMP", ago(5))], exported_at=1)
    pitches = pd.DataFrame({"customer_id": ["C2"], "product_id": ["LAMP"], "pitch_failures": ["TONE"]})
    return dict(offers=offers, extra_tx=extra, customers=customers, products=products, exports=exports,
                pitches=pitches)


def test_gate_offers_keeps_the_offers_and_adds_the_gate_columns():
    w = mixed_world()
    _, g = gate_world(**w)
    assert list(g.columns) == list(w["offers"].columns) + GATE_COLUMNS
    pd.testing.assert_frame_equal(g[w["offers"].columns], w["offers"])
    assert set(g["gate"]) <= {"PASS", "REVIEW", "BLOCK"}
    assert g["audit_score"].dtype == np.int64 and g["audit_score"].between(0, 100).all()


def test_earlier_gate_columns_are_replaced_not_duplicated():
    offers = offers_frame(("C1", "LAMP")).assign(audit_score=pd.NA, gate="UNGATED", flags="")
    _, g = gate_world(offers)
    assert list(g.columns).count("gate") == 1 and g["gate"].iloc[0] == "PASS"


def test_facts_and_details_are_json_safe_dicts():
    _, g = gate_world(**mixed_world())
    for facts, details in zip(g["facts"], g["flag_details"]):
        assert isinstance(facts, dict) and list(facts) == list(FACT_FIELDS)
        json.dumps(facts, allow_nan=False)
        assert all(set(d) == {"code", "severity", "message"} for d in details)
        json.dumps(details, allow_nan=False)
    first = g["facts"].iloc[0]
    assert (first["price"], first["days_since_contact"], first["margin_rate"], first["days_since_bought"]) == (
        25.0, 100, 0.04, None)


def test_the_flags_text_lists_the_details_codes():
    _, g = gate_world(**mixed_world())
    for flags, details in zip(g["flags"], g["flag_details"]):
        assert flags == ";".join(sorted(d["code"] for d in details))


def test_messages_render_again_from_the_stored_flags_and_facts():
    _, g = gate_world(**mixed_world())
    stored = [[d["message"] for d in details] for details in g["flag_details"]]
    assert render_flag_messages(g["flags"], g["facts"], GateConfig()) == stored
    assert render_flag_messages(g["flags"].tolist(), g["facts"].tolist(), GateConfig()) == stored
    assert render_flag_messages([], [], GateConfig()) == []


def test_stored_facts_read_back_give_the_same_verdict():
    _, g = gate_world(**mixed_world())
    again = evaluate_rules(facts_frame(g["facts"]), GateConfig(), GateConfig().policy())
    assert again["flags"].tolist() == g["flags"].tolist()
    assert again["audit_score"].tolist() == g["audit_score"].tolist()


def test_facts_follow_the_offers_index_and_misaligned_facts_are_refused():
    offers = offers_frame(("C1", "LAMP"), ("C1", "MUG")).set_axis([10, 20])
    facts, g = gate_world(offers)
    assert facts.index.tolist() == [10, 20] and g.index.tolist() == [10, 20]
    assert list(facts.columns) == list(FACT_COLUMNS)
    with pytest.raises(ValueError, match="same rows, same index"):
        gate_offers(offers, facts.iloc[::-1], GateConfig())


def test_offers_without_a_customer_id_are_refused():
    offers = offers_frame(("C1", "LAMP"))
    offers.loc[0, "customer_id"] = pd.NA
    with pytest.raises(ValueError, match="customer_id and a product_id"):
        gate_world(offers)


def test_no_offers_gives_empty_frames_with_the_columns():
    facts, g = gate_world(offers_frame(("C1", "LAMP")).iloc[:0])
    assert len(facts) == 0 and list(facts.columns) == list(FACT_COLUMNS)
    assert len(g) == 0 and GATE_COLUMNS == list(g.columns[-len(GATE_COLUMNS):])


def test_same_inputs_give_identical_frames_and_line_order_does_not_matter():
    w = mixed_world()
    facts_a, a = gate_world(**w)
    facts_b, b = gate_world(**w)
    pd.testing.assert_frame_equal(a, b)
    rows = [("C1", "i1", ago(100), "MUG", 30.0), ("C1", "i2", ago(60), "MUG", 30.0),
            ("C9", "i9", ago(10), "LAMP", 20.0)] + w["extra_tx"]
    facts_c, c = gate_world(**{**w, "extra_tx": ()}, tx_rows=rows[::-1])
    pd.testing.assert_frame_equal(facts_a, facts_c)
    pd.testing.assert_frame_equal(a, c)


def synthetic(n_customers: int, seed: int = 3):
    """A random shop: 3 offers per customer, ~8 lines per customer, a catalogue and consent for most."""
    rng = np.random.default_rng(seed)
    P = 400
    ids = np.array([f"C{i:06d}" for i in range(n_customers)], dtype=object)
    pids = np.array([f"P{i:04d}" for i in range(P)], dtype=object)
    L = 8 * n_customers
    c, p = rng.integers(0, n_customers, L), rng.integers(0, P, L)
    days = rng.integers(0, 700, L)
    tx = pd.DataFrame({"customer_id": pd.array(ids[c], dtype="string"),
                       "invoice_id": pd.array((c * 1000 + days // 30).astype(str), dtype="string"),
                       "invoice_date": (np.datetime64(AS_OF) - days.astype("timedelta64[D]")).astype("datetime64[ns]"),
                       "product_id": pd.array(pids[p], dtype="string"), "quantity": np.ones(L),
                       "unit_price": np.round(rng.random(L) * 40 + 1, 2)})
    tx["amount"] = tx["unit_price"]
    tx["is_return"] = rng.random(L) < 0.03
    tx["is_merchandise"] = True
    oc, op = np.repeat(np.arange(n_customers), 3), rng.integers(0, P, 3 * n_customers)
    offers = pd.DataFrame({"customer_id": pd.array(ids[oc], dtype="string"), "rank": np.tile([1, 2, 3], n_customers),
                           "product_id": pd.array(pids[op], dtype="string"),
                           "family": pd.array([f"F{x % 20}" for x in op], dtype="string"),
                           "scenario": pd.array(np.array(["REBUY", "CROSS_SELL", "WINBACK"])[op % 3], dtype="string"),
                           "score": rng.random(3 * n_customers)})
    customers = pd.DataFrame({"customer_id": pd.array(ids, dtype="string"),
                              "email_opt_in": pd.array(rng.random(n_customers) < 0.9, dtype="boolean"),
                              "do_not_contact": pd.array(rng.random(n_customers) < 0.02, dtype="boolean"),
                              "last_contacted_at": pd.NaT})
    products = products_frame({pid: {"price": float(rng.random() * 50 + 1), "unit_cost": 5.0} for pid in pids})
    return offers, tx, customers, products


def test_a_hundred_thousand_offers_gate_column_wise():
    offers, tx, customers, products = synthetic(34_000)
    config = GateConfig()
    facts = offer_facts(offers, customers=customers, products=products, transactions=tx, holdings=None,
                        previous_exports=None, as_of=AS_OF, contact_date=AS_OF, config=config)
    g = gate_offers(offers, facts, config)
    q = run_quality(g, customers_in_run=34_000, offerable_products=400, config=config)
    assert len(g) == 102_000 and q["offers"] == 102_000
    assert set(g["gate"].unique()) == {"PASS", "REVIEW", "BLOCK"}
    assert g["flags"].str.contains("OPTED_OUT").sum() == (~customers["email_opt_in"]).sum() * 3
    assert q["pass"] + q["review"] + q["block"] == len(g)
    assert isinstance(pa.array(g["facts"]), (pa.StructArray, pa.ChunkedArray))  # column-wise, no dict per offer
