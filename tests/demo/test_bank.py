"""The demo bank: deterministic, consistent holdings, and age-driven structure."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_core.demo import generate_bank
from crm_core.demo.world import CUSTOMER_FILE_COLUMNS, HOLDING_COLUMNS, PRODUCT_COLUMNS, TRANSACTION_COLUMNS

END = pd.Timestamp("2025-12-31")


@pytest.fixture(scope="module")
def held(bank):
    """Holdings with the holder's age and tags."""
    c = bank.customers.set_index("customer_id")
    h = bank.holdings.copy()
    h["age"] = ((END - c.loc[h["customer_id"], "birth_date"]).dt.days / 365.25).to_numpy()
    h["tags"] = c.loc[h["customer_id"], "tags"].to_numpy()
    return h


def test_same_seed_gives_equal_frames(bank):
    again = generate_bank()
    for name in ("transactions", "customers", "products", "holdings"):
        pd.testing.assert_frame_equal(getattr(bank, name), getattr(again, name))


def test_another_seed_gives_other_data():
    a = generate_bank(seed=1, n_customers=300, n_lines=2000)
    b = generate_bank(seed=2, n_customers=300, n_lines=2000)
    assert not a.holdings.equals(b.holdings)


def test_columns_and_sizes(bank):
    assert tuple(bank.transactions.columns) == TRANSACTION_COLUMNS
    assert tuple(bank.customers.columns) == CUSTOMER_FILE_COLUMNS
    assert tuple(bank.products.columns) == PRODUCT_COLUMNS
    assert tuple(bank.holdings.columns) == HOLDING_COLUMNS
    assert len(bank.customers) == 5000 and bank.customers["customer_id"].is_unique
    assert len(bank.products) == 22 and bank.products["family"].nunique() == 8
    assert 40_000 <= len(bank.transactions) <= 50_000
    assert bank.customers["customer_id"].str.fullmatch(r"00\d{6}").all()  # leading zeros kept as text


def test_line_count_follows_the_request():
    small = generate_bank(n_customers=500, n_lines=3000)
    assert 2_600 <= len(small.transactions) <= 3_400


def test_holdings_refer_to_known_customers_and_products(bank):
    h = bank.holdings
    assert set(h["customer_id"]) == set(bank.customers["customer_id"])  # everybody holds something
    assert set(h["product_id"]) <= set(bank.products["product_id"])
    assert not h.duplicated(["customer_id", "product_id"]).any()
    closed = h["closed_at"].notna()
    assert (h.loc[closed, "closed_at"] > h.loc[closed, "opened_at"]).all()
    assert (h.loc[closed, "balance"].fillna(0) == 0).all()
    insurance = h["product_id"].str.startswith("IN-")
    assert h.loc[insurance, "balance"].isna().all()
    debts = h["product_id"].str.startswith(("MG-", "LN-", "CC-")) & ~closed
    assert (h.loc[debts, "balance"] < 0).all()
    current = h[h["product_id"].isin(["CA-STD", "CA-PREM", "CA-STU"])]
    assert current["customer_id"].nunique() == len(bank.customers)
    assert h["opened_at"].max() <= END


def test_transactions_are_charges_of_held_products(bank):
    tx = bank.transactions
    pairs = set(zip(bank.holdings["customer_id"], bank.holdings["product_id"]))
    assert set(zip(tx["customer_id"], tx["product_id"])) <= pairs
    assert tx["customer_id"].notna().all()
    assert tx["invoice_id"].is_unique
    assert (tx["unit_price"] > 0).all()
    assert ((tx["quantity"] == 1) | (tx["quantity"] == -1)).all() and (tx["quantity"] == -1).any()
    assert tx["invoice_date"].between(pd.Timestamp("2023-01-01"), pd.Timestamp("2026-01-01")).all()
    # charges stop when a holding closes (refunds may follow within three weeks)
    h = bank.holdings.set_index(["customer_id", "product_id"])
    closed_at = h.loc[list(zip(tx["customer_id"], tx["product_id"])), "closed_at"].to_numpy()
    after = pd.Series(tx["invoice_date"].to_numpy() > closed_at + pd.Timedelta(days=22))
    assert not after.any()


def test_rfm_is_meaningful(bank):
    tx = bank.transactions
    last = tx.groupby("customer_id")["invoice_date"].max()
    assert tx["customer_id"].nunique() > 0.95 * len(bank.customers)
    assert ((END - last).dt.days > 180).mean() > 0.03  # customers who left the bank
    money = (tx["quantity"] * tx["unit_price"]).groupby(tx["customer_id"]).sum()
    assert money.quantile(0.9) > 3 * money.median()


def test_age_drives_what_people_hold(held):
    age = held.groupby("product_id")["age"].median()
    assert age["CA-STU"] < 25
    assert 30 <= age["MG-FIX"] <= 55
    assert age["SV-FIX"] > age["CC-STD"] + 10
    share = held.assign(band=pd.cut(held["age"], [0, 30, 50, 67, 120])).pivot_table(
        index="band", columns="product_id", values="age", aggfunc="size", observed=False).fillna(0)
    customers = held.drop_duplicates("customer_id").assign(band=pd.cut(held["age"], [0, 30, 50, 67, 120]))
    per_band = customers.groupby("band", observed=False).size()
    rate = share.div(per_band, axis=0)
    assert rate["IV-PEN"].iloc[2] > 2 * rate["IV-PEN"].iloc[0]  # pensions near retirement
    assert rate["SV-KIDS"].iloc[1] > 2 * rate["SV-KIDS"].iloc[3]  # families with children
    assert rate["MG-FIX"].iloc[1] > 3 * rate["MG-FIX"].iloc[3]


def test_business_banking_belongs_to_business_owners(held):
    business = held[held["product_id"].str.startswith("BB-")]
    assert len(business) > 100
    assert business["tags"].str.contains("business-owner").all()


def test_mortgage_holders_insure_their_home(held):
    mortgage = set(held.loc[held["product_id"].str.startswith("MG-"), "customer_id"])
    home = held[held["product_id"] == "IN-HOME"]
    with_mortgage = home["customer_id"].isin(mortgage).mean()
    assert with_mortgage > 0.6


def test_tags_describe_occupation_income_and_stage(bank):
    tags = bank.customers["tags"]
    assert tags.str.contains(r"^(?:student|employed|self-employed|retired|homemaker);income:").all()
    assert tags.str.contains(";digital").mean() > 0.3
