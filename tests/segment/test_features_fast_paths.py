"""customer_features' fast paths (order runs, shared invoices, bitmap and hash counts) agree with plain pandas.

The reference below is the contract's definitions written the slow, obvious
way (groupby on strings); the frames are messy on purpose: invoices split into
interleaved runs, one invoice shared by two customers or spread over two days,
lines without invoice ids, anonymous lines, missing dates, returns, postage and
lines after the as-of date.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import crm_core.features as features_module
from crm_core.features import customer_features

AS_OF = dt.date(2024, 6, 30)


def messy_tx(seed: int, n_rows: int = 3000, *, string_dtype: str = "string") -> pd.DataFrame:
    """Seeded transactions with every awkward case the fast paths special-case."""
    rng = np.random.default_rng(seed)
    cust = rng.choice([f"C{i}" for i in range(60)] + ["9", "10", "é1", "012"], n_rows).astype(object)
    cust[rng.random(n_rows) < 0.05] = None  # anonymous sales
    invoice = np.array([f"I{i}" for i in rng.integers(0, 400, n_rows)], dtype=object)  # shared and interleaved
    invoice[rng.random(n_rows) < 0.15] = None  # no invoice id: counted by day
    order = np.argsort(rng.integers(0, 400, n_rows), kind="stable")  # runs of equal invoices, then shuffled runs
    day = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 600, n_rows), unit="D")
    dates = pd.Series(day + pd.to_timedelta(rng.integers(0, 86_400, n_rows), unit="s"))
    dates[rng.random(n_rows) < 0.01] = pd.NaT
    product = rng.choice(["P1", "P2", "P3", "POST", None], n_rows).astype(object)
    family = rng.choice(["F1", "F2", None], n_rows).astype(object)
    is_return = rng.random(n_rows) < 0.1
    amount = np.round(rng.normal(20, 15, n_rows), 2)
    amount[is_return] = -np.abs(amount[is_return])
    frame = pd.DataFrame({
        "customer_id": pd.array(cust, dtype=string_dtype),
        "invoice_id": pd.array(invoice, dtype=string_dtype),
        "invoice_date": dates.astype("datetime64[ns]"),
        "product_id": pd.array(product, dtype=string_dtype),
        "category": pd.array(family, dtype=string_dtype),
        "quantity": np.where(is_return, -1.0, rng.integers(1, 5, n_rows).astype(float)),
        "amount": amount,
        "is_return": is_return,
        "is_merchandise": product != "POST",
    })
    frame = frame.iloc[order].reset_index(drop=True)
    # repeat some rows next to each other: runs of one invoice, the shape real exports have
    return pd.concat([frame, frame.iloc[::7]], ignore_index=True).sort_index(kind="stable").reset_index(drop=True)


def reference_features(tx: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The contract's definitions, computed with groupby on strings."""
    t = tx[tx["customer_id"].notna() & (tx["invoice_date"] < pd.Timestamp(as_of) + pd.Timedelta(days=1))].copy()
    t["customer_id"] = t["customer_id"].astype(str)
    t["day"] = t["invoice_date"].dt.normalize()
    t["sale"] = ~t["is_return"]
    sales = t[t["sale"]]
    customers = sorted(sales["customer_id"].unique())
    g, gs = t.groupby("customer_id"), sales.groupby("customer_id")
    order_key = sales["invoice_id"].astype(object).where(sales["invoice_id"].notna(), "day:" + sales["day"].astype(str))
    first, last = gs["day"].min(), gs["day"].max()
    as_of_ts = pd.Timestamp(as_of)
    out = pd.DataFrame(index=pd.Index(customers, name="customer_id"))
    out["first_purchase"] = first
    out["last_purchase"] = last
    out["recency_days"] = (as_of_ts - last).dt.days
    out["frequency"] = order_key.groupby(sales["customer_id"]).nunique()
    out["monetary"] = g["amount"].sum()
    out["purchase_days"] = gs["day"].nunique().astype(float)
    merch_sales = sales[sales["is_merchandise"]]
    out["n_products"] = merch_sales.groupby("customer_id")["product_id"].nunique().reindex(customers).fillna(0)
    out["n_families"] = gs["category"].nunique().reindex(customers).fillna(0)
    later = t[t["day"] > t["customer_id"].map(first)]
    repeat = out["purchase_days"] - 1
    after = later.groupby("customer_id")["amount"].sum().reindex(customers).fillna(0.0)
    out["mean_repeat_day_spend"] = np.where(repeat > 0, after / repeat.where(repeat > 0, 1), 0.0)
    out["items_per_order"] = gs["quantity"].sum() / out["frequency"]
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_paths_match_the_reference(seed):
    tx = messy_tx(seed)
    got = customer_features(tx, AS_OF)
    want = reference_features(tx, AS_OF)
    assert got.index.tolist() == want.index.tolist()
    for col in ("first_purchase", "last_purchase", "recency_days", "frequency", "purchase_days", "n_products",
                "n_families"):
        assert got[col].tolist() == want[col].tolist(), col
    for col in ("monetary", "mean_repeat_day_spend", "items_per_order"):
        np.testing.assert_allclose(got[col].to_numpy(), want[col].to_numpy(dtype=float), rtol=1e-9, err_msg=col)


def test_bitmap_blocks_and_pair_hashing_give_the_same_counts(monkeypatch):
    tx = messy_tx(4)
    plain = customer_features(tx, AS_OF)
    monkeypatch.setattr(features_module, "_DENSE_CELLS", 64)  # many small bitmap blocks
    blocked = customer_features(tx, AS_OF)
    monkeypatch.setattr(features_module, "_DENSE_MAX_KEYS", 1)  # every distinct count hashes pairs
    hashed = customer_features(tx, AS_OF)
    pd.testing.assert_frame_equal(plain, blocked)
    pd.testing.assert_frame_equal(plain, hashed)


def test_object_columns_give_the_same_features_as_arrow_strings():
    arrow = customer_features(messy_tx(5), AS_OF)
    obj = customer_features(messy_tx(5, string_dtype="object"), AS_OF)
    pd.testing.assert_frame_equal(arrow, obj)


def test_an_invoice_shared_by_two_customers_counts_for_each():
    tx = pd.DataFrame({
        "customer_id": pd.array(["1", "2", "1", "1"], dtype="string"),
        "invoice_id": pd.array(["A", "A", "B", "A"], dtype="string"),  # A comes back after B: a second run
        "invoice_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-01"]),
        "amount": [1.0, 2.0, 3.0, 4.0],
        "is_return": [False] * 4,
    })
    f = customer_features(tx, AS_OF)
    assert f["frequency"].to_dict() == {"1": 2, "2": 1}
    assert f["purchase_days"].to_dict() == {"1": 2.0, "2": 1.0}


def test_ids_sort_by_code_point_like_python():
    ids = ["b", "a10", "a9", "É", "e", "Z", "0"]
    tx = pd.DataFrame({"customer_id": pd.array(ids, dtype="string"),
                       "invoice_date": pd.to_datetime(["2024-01-01"] * len(ids)),
                       "amount": 1.0, "is_return": False})
    assert customer_features(tx, AS_OF).index.tolist() == sorted(ids)


def test_dates_in_microseconds_and_before_1970_work():
    dates = pd.to_datetime(["1969-12-31 23:00", "1970-01-02 01:00"]).astype("datetime64[us]")
    tx = pd.DataFrame({"customer_id": pd.array(["1", "1"], dtype="string"), "invoice_date": dates,
                       "amount": [1.0, 1.0], "is_return": [False, False]})
    f = customer_features(tx, dt.date(1970, 1, 3))
    assert f.loc["1", "first_purchase"] == pd.Timestamp("1969-12-31")
    assert f.loc["1", "recency_days"] == 1 and f.loc["1", "purchase_days"] == 2
