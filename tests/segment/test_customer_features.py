"""customer_features follows the CLI contract's definitions exactly."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crm_core.features import BEHAVIOUR_COLUMNS, RFM_COLUMNS, TransactionsFrameInvalid, customer_features

from .builders import make_tx

AS_OF = dt.date(2024, 3, 31)


@pytest.fixture
def tx() -> pd.DataFrame:
    return make_tx([
        # customer 9: two invoices on one day, one later invoice, a cancellation, postage
        {"customer_id": "9", "invoice_id": "A1", "invoice_date": "2024-01-10 09:00", "amount": 100.0},
        {"customer_id": "9", "invoice_id": "A1", "invoice_date": "2024-01-10 09:00", "amount": 20.0, "product_id": "P2"},
        {"customer_id": "9", "invoice_id": "A2", "invoice_date": "2024-01-10 17:00", "amount": 30.0},
        {"customer_id": "9", "invoice_id": "A3", "invoice_date": "2024-03-01 10:00", "amount": 50.0,
         "category": "F2"},
        {"customer_id": "9", "invoice_id": "CA3", "invoice_date": "2024-03-05 10:00", "amount": -25.0,
         "quantity": -1.0, "is_return": True},
        {"customer_id": "9", "invoice_id": "A3", "invoice_date": "2024-03-01 10:00", "amount": 5.0,
         "product_id": "POST", "is_merchandise": False},
        # customer 10: bought on the as-of day late in the evening (counts), and the day after (ignored)
        {"customer_id": "10", "invoice_id": "B1", "invoice_date": "2024-03-31 23:59", "amount": 40.0},
        {"customer_id": "10", "invoice_id": "B2", "invoice_date": "2024-04-01 00:01", "amount": 999.0},
        # customer 11: only a return: not a customer
        {"customer_id": "11", "invoice_id": "C9", "invoice_date": "2024-02-01", "amount": -10.0, "is_return": True},
        # anonymous sale: counts for nobody
        {"customer_id": None, "invoice_id": "D1", "invoice_date": "2024-02-01", "amount": 70.0},
        # customer 012: a free item is a sale; no invoice ids -> distinct days
        {"customer_id": "012", "invoice_id": None, "invoice_date": "2024-02-01 08:00", "amount": 0.0},
        {"customer_id": "012", "invoice_id": None, "invoice_date": "2024-02-01 18:00", "amount": 12.0},
        {"customer_id": "012", "invoice_id": None, "invoice_date": "2024-02-03", "amount": 8.0},
    ])


def test_customers_are_ids_with_a_sale_on_or_before_as_of_sorted_as_strings(tx):
    f = customer_features(tx, AS_OF)
    assert f.index.tolist() == ["012", "10", "9"]
    assert f.index.name == "customer_id"
    assert f.index.dtype == "string"


def test_rfm_definitions(tx):
    f = customer_features(tx, AS_OF)
    nine = f.loc["9"]
    assert nine["first_purchase"] == pd.Timestamp("2024-01-10")
    assert nine["last_purchase"] == pd.Timestamp("2024-03-01")
    assert nine["recency_days"] == 30
    assert nine["frequency"] == 3  # A1, A2, A3; the cancellation does not count
    assert nine["monetary"] == pytest.approx(100 + 20 + 30 + 50 - 25 + 5)
    ten = f.loc["10"]
    assert ten["recency_days"] == 0 and ten["frequency"] == 1 and ten["monetary"] == 40.0
    assert f.loc["012", "frequency"] == 2  # two purchase days without invoice ids
    assert f.loc["012", "monetary"] == 20.0


def test_behaviour_features(tx):
    f = customer_features(tx, AS_OF)
    nine = f.loc["9"]
    assert nine["purchase_days"] == 2
    assert nine["tenure_days"] == 81
    assert nine["mean_repeat_day_spend"] == pytest.approx(50 - 25 + 5)  # rows after the first day
    assert nine["n_products"] == 2  # P1, P2; postage is not a product
    assert nine["n_families"] == 2
    assert nine["avg_order_value"] == pytest.approx(205 / 3)
    assert nine["return_share"] == pytest.approx(25 / 205)
    assert nine["non_merch_share"] == pytest.approx(5 / 205)
    assert nine["mean_interpurchase_days"] == 51
    assert f.loc["10", "mean_interpurchase_days"] == 0  # one purchase day: days since it
    assert f.loc["10", "mean_repeat_day_spend"] == 0


def test_dtypes_follow_the_contract_and_nothing_is_nan(tx):
    f = customer_features(tx, AS_OF)
    assert list(f.columns) == [*RFM_COLUMNS, *BEHAVIOUR_COLUMNS]
    assert str(f["first_purchase"].dtype) == "datetime64[ns]"
    assert f["recency_days"].dtype == np.int64 and f["frequency"].dtype == np.int64
    assert all(f[c].dtype == np.float64 for c in ("monetary", *BEHAVIOUR_COLUMNS))
    assert not f.isna().any().any()


def test_returns_exceeding_sales_give_negative_monetary():
    tx = make_tx([
        {"customer_id": "1", "invoice_id": "I1", "invoice_date": "2024-01-01", "amount": 10.0},
        {"customer_id": "1", "invoice_id": "C1", "invoice_date": "2024-01-02", "amount": -30.0, "is_return": True},
    ])
    f = customer_features(tx, AS_OF)
    assert f.loc["1", "monetary"] == -20.0
    assert f.loc["1", "return_share"] == 3.0


def test_optional_columns_may_be_absent():
    tx = make_tx([{"customer_id": "1", "invoice_date": "2024-01-01", "amount": 10.0}])
    tx = tx[["customer_id", "invoice_date", "amount", "is_return"]]
    f = customer_features(tx, AS_OF)
    assert f.loc["1", "frequency"] == 1 and f.loc["1", "n_products"] == 0


def test_missing_required_column_is_named():
    with pytest.raises(TransactionsFrameInvalid, match="is_return"):
        customer_features(pd.DataFrame({"customer_id": [], "invoice_date": [], "amount": []}), AS_OF)


def test_no_rows_gives_an_empty_frame_with_the_columns():
    tx = make_tx([{"customer_id": "1", "invoice_date": "2025-01-01", "amount": 10.0}])
    f = customer_features(tx, AS_OF)
    assert f.empty and list(f.columns) == [*RFM_COLUMNS, *BEHAVIOUR_COLUMNS]
