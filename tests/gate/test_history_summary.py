"""The gate's purchase history, summarised once before the offers exist, against a plain reference."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.gate import GateConfig, summarise_history
from crm_core.gate.codes import day_number, encode
from crm_core.gate.history import history_facts
from tests.recommend.worlds import make_tx

AS_OF = dt.date(2024, 6, 30)
AS_DAY = day_number(AS_OF)
CONFIG = GateConfig(default_repurchase_days=45, price_window_days=20)

line = st.tuples(st.sampled_from(["C1", "C2", "C3", None]), st.sampled_from(["i1", "i2", "i3", "i4", None]),
                 st.integers(-5, 40), st.sampled_from(["A", "B", "C"]), st.sampled_from([5.0, 10.0, 12.5]),
                 st.booleans())
offer = st.tuples(st.sampled_from(["C1", "C2", "C3", "C4"]), st.sampled_from(["A", "B", "C", "D"]))


def reference(tx: pd.DataFrame, customer: str, product: str) -> dict:
    """The facts of one offer, written the plain way from the module's definitions."""
    day = (tx["invoice_date"].dt.normalize() - pd.Timestamp(AS_OF)).dt.days + AS_DAY
    kept = tx[(day <= AS_DAY).to_numpy()].assign(day=day)
    kept["is_return"] = kept["is_return"].astype(bool)  # an empty selection would turn the masks into column lists
    mine = kept[(kept["customer_id"] == customer).to_numpy(dtype=bool, na_value=False)]
    sales = mine[~mine["is_return"].to_numpy(dtype=bool)]
    order = [inv if not pd.isna(inv) else f"day {d}" for inv, d in zip(sales["invoice_id"], sales["day"])]
    baskets = sales.groupby(pd.Series(order, index=sales.index))["amount"].sum()
    bought = sales[sales["product_id"] == product]["day"]
    rhythms = []
    all_sales = kept[~kept["is_return"] & kept["customer_id"].notna() & (kept["product_id"] == product)]
    for _, days in all_sales.groupby("customer_id")["day"]:
        distinct = sorted(set(days))
        if len(distinct) >= 2:
            rhythms.append((distinct[-1] - distinct[0]) / (len(distinct) - 1))
    recent = kept[~kept["is_return"] & (kept["product_id"] == product) & (kept["day"] > AS_DAY - 20)]
    return {"basket": float(baskets.median()) if len(baskets) else math.nan, "purchases": len(baskets),
            "days_since_first": AS_DAY - sales["day"].min() if len(sales) else math.nan,
            "days_since_last_line": AS_DAY - mine["day"].max() if len(mine) else math.nan,
            "days_since_bought": AS_DAY - bought.max() if len(bought) else math.nan,
            "repurchase_days": math.ceil(float(np.median(rhythms))) if rhythms else 45.0,
            "_sales_price": float(recent["unit_price"].median()) if len(recent) else math.nan}


@settings(max_examples=80, deadline=None)
@given(st.lists(line, min_size=1, max_size=14), st.lists(offer, min_size=1, max_size=6, unique=True))
def test_facts_from_the_summary_equal_the_plain_definitions(lines, offers):
    tx = make_tx([(c, i, AS_OF - dt.timedelta(days=d), p, -a if r else a, "K", r) for c, i, d, p, a, r in lines])
    oc, cust_ids = encode(pd.Series([c for c, _ in offers], dtype="string"))
    op, prod_ids = encode(pd.Series([p for _, p in offers], dtype="string"))
    got = summarise_history(tx, AS_DAY, CONFIG).facts(cust_ids, oc, prod_ids, op)
    for i, (customer, product) in enumerate(offers):
        want = reference(tx, customer, product)
        for name, value in want.items():
            have = got[name][op[i]] if name == "_sales_price" else got[name][i]
            assert (math.isnan(value) and math.isnan(have)) or have == pytest.approx(value), (name, customer,
                                                                                              product)
    assert got["purchases"].dtype == np.int64


def test_the_lines_or_their_summary_give_the_same_facts():
    tx = make_tx([("C1", "i1", AS_OF - dt.timedelta(days=30), "A", 10.0), ("C1", "i2", AS_OF, "A", 12.0),
                  ("C2", None, AS_OF - dt.timedelta(days=3), "B", 5.0)])
    oc, cust_ids = encode(pd.Series(["C1", "C2", "C9"], dtype="string"))
    op, prod_ids = encode(pd.Series(["A", "A", "Z"], dtype="string"))
    from_lines = history_facts(tx, cust_ids, oc, prod_ids, op, AS_DAY, CONFIG)
    from_summary = history_facts(summarise_history(tx, AS_DAY, CONFIG), cust_ids, oc, prod_ids, op, AS_DAY, CONFIG)
    assert from_lines.keys() == from_summary.keys()
    for name in from_lines:
        np.testing.assert_array_equal(from_lines[name], from_summary[name])
    assert from_lines["days_since_bought"][0] == 0 and np.isnan(from_lines["days_since_bought"][1])
    assert from_lines["repurchase_days"].tolist() == [30.0, 30.0, 45.0]  # Z was never sold: the default


@pytest.mark.parametrize("as_day, config", [(AS_DAY + 1, CONFIG),
                                            (AS_DAY, GateConfig(default_repurchase_days=46, price_window_days=20)),
                                            (AS_DAY, GateConfig(default_repurchase_days=45, price_window_days=21))])
def test_a_summary_made_for_another_day_or_settings_is_refused(as_day, config):
    tx = make_tx([("C1", "i1", AS_OF, "A", 10.0)])
    oc, cust_ids = encode(pd.Series(["C1"], dtype="string"))
    op, prod_ids = encode(pd.Series(["A"], dtype="string"))
    with pytest.raises(ValueError, match="another as-of date"):
        history_facts(summarise_history(tx, AS_DAY, CONFIG), cust_ids, oc, prod_ids, op, as_day, config)


def test_no_lines_give_unknown_history():
    tx = make_tx([("C1", "i1", AS_OF + dt.timedelta(days=2), "A", 10.0)])  # after as-of: ignored
    oc, cust_ids = encode(pd.Series(["C1"], dtype="string"))
    op, prod_ids = encode(pd.Series(["A"], dtype="string"))
    got = summarise_history(tx.iloc[:0], AS_DAY, CONFIG).facts(cust_ids, oc, prod_ids, op)
    assert got["purchases"].tolist() == [0] and np.isnan(got["basket"][0]) and np.isnan(got["days_since_bought"][0])
    assert got["repurchase_days"].tolist() == [45.0]
    later = summarise_history(tx, AS_DAY, CONFIG).facts(cust_ids, oc, prod_ids, op)
    assert later["purchases"].tolist() == [0] and np.isnan(later["days_since_last_line"][0])
