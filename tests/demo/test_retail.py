"""The demo retailer: deterministic, the asked-for size, dirty where asked, and structured."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_core.demo import generate_retail
from crm_core.demo.retail_catalog import DISCONTINUED, FAMILIES, PARTNERS
from crm_core.demo.world import CUSTOMER_FILE_COLUMNS, PRODUCT_COLUMNS, TRANSACTION_COLUMNS
from crm_core.errors import NextBestError

END = pd.Timestamp("2025-12-31")


def _sales(tx: pd.DataFrame) -> pd.DataFrame:
    """Known-customer sales with tidy ids (what the importer would make of them)."""
    out = tx[tx["customer_id"].notna() & (tx["quantity"] > 0) & ~tx["invoice_id"].str.startswith("C")].copy()
    out["customer_id"] = out["customer_id"].str.replace(r"\.0$", "", regex=True)
    out["product_id"] = out["product_id"].str.strip().str.upper()
    return out[out["product_id"] != "POST"]


def test_same_seed_gives_equal_frames(retail):
    again = generate_retail()
    for name in ("transactions", "customers", "products", "holdings"):
        pd.testing.assert_frame_equal(getattr(retail, name), getattr(again, name))


def test_another_seed_gives_other_data():
    a = generate_retail(seed=1, n_customers=300, n_lines=3000)
    b = generate_retail(seed=2, n_customers=300, n_lines=3000)
    assert not a.transactions.equals(b.transactions)
    assert not a.customers["first_name"].equals(b.customers["first_name"])


def test_canonical_columns_and_types(retail):
    assert tuple(retail.transactions.columns) == TRANSACTION_COLUMNS
    assert tuple(retail.customers.columns) == CUSTOMER_FILE_COLUMNS
    assert tuple(retail.products.columns) == PRODUCT_COLUMNS
    assert retail.holdings.empty
    assert retail.transactions["invoice_date"].dtype == "datetime64[ns]"
    assert retail.transactions["customer_id"].dtype == "string"
    assert retail.customers["email_opt_in"].dtype == "boolean"


def test_sizes_are_roughly_as_asked(retail):
    tx = retail.transactions
    assert len(retail.customers) == 5000
    assert retail.customers["customer_id"].is_unique
    assert 57_000 <= len(tx) <= 63_000
    assert len(retail.products) == 150
    assert retail.products["family"].nunique() == 12
    assert 4_500 <= _sales(tx)["customer_id"].nunique() <= 5000
    assert tx["invoice_date"].min() >= pd.Timestamp("2023-01-01")
    assert tx["invoice_date"].max() < pd.Timestamp("2026-01-01")
    # three years covered, each with a substantial share
    per_year = tx["invoice_date"].dt.year.value_counts()
    assert set(per_year.index) == {2023, 2024, 2025} and per_year.min() > 0.2 * len(tx)


def test_other_sizes_scale():
    small = generate_retail(n_customers=400, n_lines=4000)
    assert len(small.customers) == 400
    assert 3_700 <= len(small.transactions) <= 4_300


def test_dirty_rows_are_present(retail):
    tx = retail.transactions
    cancelled = tx[tx["invoice_id"].str.startswith("C")]
    assert len(cancelled) > 0 and (cancelled["quantity"] < 0).all()
    # every cancellation reverses a real invoice of the same customer
    original = tx.set_index("invoice_id")["customer_id"].to_dict()
    sample = cancelled.drop_duplicates("invoice_id").head(20)
    assert all(original[i[1:]] == c for i, c in zip(sample["invoice_id"], sample["customer_id"]))
    returns = tx[(tx["quantity"] < 0) & ~tx["invoice_id"].str.startswith("C")]
    assert len(returns) > 0
    postage = tx[tx["product_id"] == "POST"]
    assert len(postage) > 0 and postage["category"].isna().all()
    assert (tx["unit_price"] == 0).sum() >= 1
    assert tx["customer_id"].isna().mean() > 0.01  # anonymous sales
    assert (tx["customer_id"] == "10023.0").sum() >= 1
    untidy = tx["product_id"] != tx["product_id"].str.strip().str.upper()
    assert untidy.sum() >= 1
    assert tx.duplicated().sum() >= 1


def test_every_family_sells_and_every_product_is_in_the_catalog(retail):
    sales = _sales(retail.transactions)
    assert set(sales["category"]) == {f.name for f in FAMILIES}
    assert set(sales["product_id"]) <= set(retail.products["product_id"])
    # a product's category is its catalog family
    family = retail.products.set_index("product_id")["family"]
    assert (sales["category"].to_numpy() == family.loc[sales["product_id"]].to_numpy()).all()


def test_margins_are_positive_and_premium_costs_more(retail):
    p = retail.products
    assert (p["unit_cost"] > 0).all() and (p["unit_cost"] < p["price"]).all()
    premium = p["name"].str.startswith("Premium")
    assert premium.groupby(p["family"]).sum().eq(2).all()
    mean_price = p.groupby([p["family"], premium])["price"].mean().unstack()
    assert (mean_price[True] > 1.8 * mean_price[False]).all()


def test_discontinued_products_stop_selling(retail):
    sales = _sales(retail.transactions)
    inactive = set(retail.products.loc[~retail.products["active"], "product_id"])
    assert inactive == set(DISCONTINUED)
    late = sales[sales["invoice_date"] >= pd.Timestamp("2024-01-02")]
    assert not late["product_id"].isin(inactive).any()
    assert sales["product_id"].isin(inactive).any()  # they did sell in the first year


@pytest.mark.parametrize("family", [f for f in FAMILIES if f.rebuy_days])
def test_replenishable_products_are_repurchased_at_their_interval(retail, family):
    sales = _sales(retail.transactions)
    fam = sales[sales["category"] == family.name].sort_values("invoice_date")
    days = fam["invoice_date"].dt.normalize()
    gaps = days.groupby([fam["customer_id"], fam["product_id"]]).diff().dt.days.dropna()
    gaps = gaps[gaps > 0]
    assert len(gaps) > 200
    assert 0.75 * family.rebuy_days <= gaps.median() <= 1.25 * family.rebuy_days


def test_replenishable_families_are_bought_again_far_more_often(retail):
    sales = _sales(retail.transactions)
    repeats = sales.groupby(["customer_id", "product_id"])["invoice_id"].nunique()
    family = retail.products.set_index("product_id")["family"]
    rebuy = family.loc[repeats.index.get_level_values("product_id")].isin(
        [f.name for f in FAMILIES if f.rebuy_days]).to_numpy()
    assert (repeats[rebuy] >= 4).mean() > 3 * (repeats[~rebuy] >= 4).mean()


def test_partner_families_are_bought_together(retail):
    sales = _sales(retail.transactions)
    baskets = pd.crosstab(sales["invoice_id"], sales["category"]).gt(0).astype(float)
    share = baskets.mean()
    lift = (baskets.T @ baskets) / len(baskets) / np.outer(share, share)
    names = [f.name for f in FAMILIES]
    for i, j, _ in PARTNERS:
        a, b = names[i], names[j]
        others = lift.loc[a].drop([a, b])
        assert lift.loc[a, b] > 1.25, (a, b)
        assert lift.loc[a, b] > 1.3 * others.median(), (a, b)


def test_big_spenders_buy_more_premium(retail):
    sales = _sales(retail.transactions)
    spend = (sales["quantity"] * sales["unit_price"]).groupby(sales["customer_id"]).sum()
    premium = sales["product_name"].str.startswith("Premium").groupby(sales["customer_id"]).mean()
    top = spend >= spend.quantile(0.9)
    bottom = spend <= spend.median()
    assert premium[top].mean() > 1.5 * premium[bottom].mean()


def test_life_cycles_and_heavy_buyers(retail):
    sales = _sales(retail.transactions)
    by = sales.groupby("customer_id")
    recency = (END - by["invoice_date"].max()).dt.days
    first = (END - by["invoice_date"].min()).dt.days
    frequency = by["invoice_id"].nunique()
    money = (sales["quantity"] * sales["unit_price"]).groupby(sales["customer_id"]).sum()
    assert (recency <= 90).mean() > 0.10  # active
    assert ((recency > 90) & (recency <= 365)).mean() > 0.10  # lapsing
    assert (recency > 365).mean() > 0.20  # lost
    assert (first <= 90).mean() > 0.03  # new
    assert 0.2 < (frequency == 1).mean() < 0.6  # one-off buyers
    assert (frequency >= 10).mean() > 0.05  # loyal, frequent
    top = money.sort_values(ascending=False)
    assert top.head(len(top) // 10).sum() > 0.35 * top.sum()  # heavy buyers carry the revenue


def test_customers_have_consent_and_contact_history(retail):
    c = retail.customers
    opt_in = c["email_opt_in"]
    assert opt_in.eq(True).sum() > 4000 and opt_in.eq(False).sum() > 250 and opt_in.isna().sum() > 50
    assert 50 < c["do_not_contact"].sum() < 500
    contacted = c["last_contacted_at"].dropna()
    assert len(contacted) > 1000 and contacted.max() <= END
    assert not c.loc[c["do_not_contact"], "last_contacted_at"].notna().any()
    ages = (END - c["birth_date"]).dt.days / 365.25
    assert ages.between(17.9, 86).all()
    assert c["email"].dropna().str.endswith(("@example.com", "@example.org", "@example.net")).all()


def test_rejects_non_positive_sizes():
    with pytest.raises(NextBestError, match="positive"):
        generate_retail(n_customers=0)
