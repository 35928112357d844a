"""recommend(): the offers frame contract, exclusions, explanations, determinism."""

import numpy as np
import pandas as pd
import pytest

from crm_core.recommend.engine import ENGINE_OFFER_COLUMNS, prepare, recommend
from crm_core.recommend.settings import RecommendConfig
from tests.recommend.worlds import AS_OF, days_before, make_tx


def _offers(tx, products=None, holdings=None, features=None, **cfg):
    return recommend(tx, features, products, holdings, as_of=AS_OF, config=RecommendConfig(**cfg))


def test_frame_has_the_contract_columns_sorted_with_ranks_from_one(scenario_world):
    o = _offers(scenario_world)
    assert list(o.columns) == ENGINE_OFFER_COLUMNS
    assert o.equals(o.sort_values(["customer_id", "rank"]).reset_index(drop=True))
    ranks = o.groupby("customer_id")["rank"].apply(list)
    assert all(r == list(range(1, len(r) + 1)) and len(r) <= 3 for r in ranks)
    assert o["customer_id"].dtype == "string" and o["rank"].dtype == np.int64


def test_every_customer_gets_offers_and_anonymous_sales_make_no_customer(scenario_world):
    o = _offers(scenario_world)
    known = set(scenario_world["customer_id"].dropna())
    assert set(o["customer_id"]) == known
    assert o.groupby("customer_id").size().eq(3).all()


def test_non_merchandise_is_never_offered(scenario_world):
    o = _offers(scenario_world)
    assert "POST" not in set(o["product_id"])


def test_inactive_catalog_products_are_never_offered(scenario_world):
    ids = sorted(scenario_world["product_id"].dropna().unique())
    products = pd.DataFrame({"product_id": ids, "name": ids, "family": ids, "price": 10.0, "unit_cost": 5.0,
                             "margin_rate": np.nan, "active": [p != "SOAP" for p in ids],
                             "is_merchandise": [p != "POST" for p in ids], "in_catalog": True})
    o = _offers(scenario_world, products=products)
    assert "SOAP" not in set(o["product_id"]) and len(o)
    assert o["profit"].between(0, 1).all()  # margins known: profit is a component


def test_profit_left_out_without_margins_and_weights_renormalised(scenario_world):
    o = _offers(scenario_world)
    assert o["profit"].isna().all()
    expected = (0.4 * o["affinity"] + 0.3 * o["popularity"] + 0.1 * o["scenario_fit"]) / 0.8
    assert np.allclose(o["score"], expected)


def test_exclude_bought_never_offers_a_product_bought_before(scenario_world):
    o = _offers(scenario_world)
    bought = scenario_world.dropna(subset=["customer_id"]).groupby("customer_id")["product_id"].apply(set)
    new = recommend(scenario_world, None, None, None, as_of=AS_OF, config=RecommendConfig(), exclude_bought=True)
    assert not any(p in bought[c] for c, p in zip(new["customer_id"], new["product_id"]))
    assert any(p in bought[c] for c, p in zip(o["customer_id"], o["product_id"]))  # REBUY offers without exclusion


def test_product_bought_once_and_never_rebought_by_anyone_is_not_offered_again(scenario_world):
    o = _offers(scenario_world)
    big = set(o.loc[o["customer_id"] == "BIG", "product_id"])
    assert not big & {"CHAIR", "TABLE", "SOFA"}


def test_held_products_are_never_offered():
    rows = []
    for k in range(30):
        rows.append((f"C{k}", f"i{k}", days_before(10 + k), "FEE", 1.0, "Fees"))
    tx = make_tx(rows)
    held = [(f"C{k}", "CURRENT", "2020-01-01", None) for k in range(30)]
    held += [(f"C{k}", "SAVINGS", "2021-01-01", None) for k in range(0, 30, 2)]
    held += [(f"C{k}", "CARD", "2022-01-01", "2023-01-01") for k in range(0, 30, 3)]
    holdings = pd.DataFrame(held, columns=["customer_id", "product_id", "opened_at", "closed_at"])
    holdings["opened_at"] = pd.to_datetime(holdings["opened_at"])
    holdings["closed_at"] = pd.to_datetime(holdings["closed_at"])
    products = pd.DataFrame({"product_id": ["CURRENT", "SAVINGS", "CARD", "LOAN"], "name": ["Current", "Savings",
                             "Card", "Loan"], "family": ["Accounts", "Savings", "Cards", "Loans"],
                             "price": [0.0, 0.0, 0.0, 0.0], "margin_rate": [0.1, 0.2, 0.3, 0.4],
                             "active": True, "is_merchandise": True, "in_catalog": True})
    o = _offers(tx, products=products, holdings=holdings)
    assert len(o) and "CURRENT" not in set(o["product_id"])
    held_savings = {f"C{k}" for k in range(0, 30, 2)}
    assert not ((o["product_id"] == "SAVINGS") & o["customer_id"].isin(held_savings)).any()
    assert set(o.loc[~o["customer_id"].isin(held_savings), "product_id"]) >= {"SAVINGS"}
    assert "FEE" not in set(o["product_id"])  # not in the catalog


def test_rebuy_explanation_carries_the_numbers(scenario_world):
    o = _offers(scenario_world)
    first = o[o["customer_id"] == "REBUYER"].iloc[0]
    assert first["explanation_code"] == "REBUY_DUE"
    assert first["explanation"] == "Bought Name SOAP 5 times, last 45 days ago (usually every 30 days)"
    assert first["explanation_params"]["times"] == 5 and first["explanation_params"]["usual_interval_days"] == 30


def test_every_offer_has_an_explanation_and_components_in_range(scenario_world):
    o = _offers(scenario_world)
    assert o["explanation"].str.len().gt(10).all()
    for col in ("score", "affinity", "popularity", "scenario_fit"):
        assert o[col].between(0, 1).all(), col
    assert (o["expected_revenue"] >= 0).all()


def test_same_input_gives_byte_identical_output_whatever_the_row_order(scenario_world):
    a = _offers(scenario_world).to_csv(index=False)
    shuffled = scenario_world.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert _offers(shuffled).to_csv(index=False) == a
    assert _offers(scenario_world).to_csv(index=False) == a


def test_later_transactions_are_ignored(scenario_world):
    later = make_tx([("NEW", "f1", "2024-07-05", "LAMP", 500.0, "Lighting")])
    both = pd.concat([scenario_world, later], ignore_index=True)
    assert _offers(both).to_csv(index=False) == _offers(scenario_world).to_csv(index=False)


def test_small_data_says_what_it_could_not_use(scenario_world):
    eng = prepare(scenario_world, None, None, None, as_of=AS_OF, config=RecommendConfig())
    notes = " ".join(eng.info()["notes"])
    assert "No product catalog" in notes and "No margins" in notes and "fixed rule" in notes


def test_clusters_are_used_when_features_carry_them(scenario_world):
    ids = sorted(scenario_world["customer_id"].dropna().unique())
    features = pd.DataFrame({"cluster": [i % 2 for i in range(len(ids))]}, index=pd.Index(ids, name="customer_id"))
    eng = prepare(scenario_world, features, None, None, as_of=AS_OF, config=RecommendConfig())
    assert "No clusters" not in " ".join(eng.info()["notes"])
    assert eng.adoption.shape[0] == 2
    assert len(eng.offers()) == len(_offers(scenario_world))


def test_empty_transactions_give_an_empty_frame_with_the_columns():
    tx = make_tx([("A", "1", "2025-01-01", "MUG", 5.0)])  # after as_of
    o = _offers(tx)
    assert o.empty and list(o.columns) == ENGINE_OFFER_COLUMNS


@pytest.mark.parametrize("top_n", [1, 2, 4])
def test_top_n_from_config(scenario_world, top_n):
    o = _offers(scenario_world, top_n=top_n)
    assert o.groupby("customer_id").size().max() == top_n


def test_nurture_explanation_counts_the_orders_so_far(scenario_world):
    o = _offers(scenario_world)
    first = o[o["customer_id"] == "NEW"].iloc[0]
    assert first["scenario"] == "NURTURE"
    assert first["explanation"].startswith("1 order so far; ")
    assert first["explanation_params"]["orders"] == 1



def test_stored_explanations_render_as_the_engine_wrote_them(scenario_world):
    """Offers keep code + parameters; rendering them later gives the engine's sentence back."""
    from crm_core.recommend.explain import render_explanations

    offers = _offers(scenario_world)
    assert len(offers) > 0
    rendered = render_explanations(offers["explanation_code"].tolist(), offers["explanation_params"].tolist(), 3)
    assert rendered == offers["explanation"].tolist()


def test_a_catalog_built_first_codes_the_same_lines_without_their_names(scenario_world):
    """A run builds the catalog, deletes the lines' names and categories (hundreds of MB at ten million
    lines), then codes the lines: the same catalog, names, families and codes as coding the whole frame."""
    from crm_core.recommend.engine import code_sales, sales_catalog

    later = make_tx([("NEW", "f1", "2024-07-05", "KITE", 500.0, "Toys")])  # after the as-of date
    tx = pd.concat([scenario_world, later], ignore_index=True)
    cfg = RecommendConfig()
    whole = code_sales(tx, None, None, as_of=AS_OF, config=cfg)
    catalog = sales_catalog(tx, None, None, as_of=AS_OF, config=cfg)
    bare = tx.drop(columns=["product_name", "category"])
    split = code_sales(bare, None, None, as_of=AS_OF, config=cfg, catalog=catalog)
    assert whole.catalog.loc["SOAP", "name"] == "Name SOAP" and "KITE" not in whole.catalog.index
    pd.testing.assert_frame_equal(split.catalog, whole.catalog)
    assert split.notes == whole.notes and any("family = category" in n for n in split.notes)
    assert list(split.lines.customers) == list(whole.lines.customers)
    for name in ("c", "p", "day", "inv", "run_start"):
        assert np.array_equal(getattr(split.lines.sales, name), getattr(whole.lines.sales, name)), name
    assert np.array_equal(split.lines.amounts.amount, whole.lines.amounts.amount)


def test_an_engine_set_to_score_holds_no_sales_lines_and_offers_the_same(scenario_world):
    """Scoring reads the history: the engine a run scores with lets go of the coded lines (and the
    learning data), hundreds of MB at ten million lines, and offers exactly what the full engine does."""
    full = prepare(scenario_world, None, None, None, as_of=AS_OF, config=RecommendConfig())
    scoring = full.with_config(full.config)
    assert len(full.lines.sales) > 0 and full.learning is not None
    assert len(scoring.lines.sales) == 0 and len(scoring.lines.amounts.amount) == 0 and scoring.learning is None
    assert list(scoring.lines.customers) == list(full.lines.customers)
    assert list(scoring.lines.products) == list(full.lines.products)
    assert scoring.offers().to_csv(index=False) == full.offers().to_csv(index=False)
    assert scoring.info() == full.info()
