"""The product table: what may be offered, families, margins."""

import pandas as pd

from crm_core.recommend.catalog import build_catalog
from crm_core.recommend.settings import RecommendConfig
from tests.recommend.worlds import days_before, make_tx


def _tx():
    return make_tx([("A", "1", days_before(3), "MUG", 8.0, "Kitchen"),
                    ("A", "1", days_before(3), "POST", 3.0, "Services"),
                    ("B", "2", days_before(4), "MUG", 10.0, "Kitchen"),
                    ("B", "2", days_before(4), "LAMP", 40.0, None)])


def test_without_catalog_products_seen_are_offered_and_non_merchandise_never():
    cat = build_catalog(_tx(), None, RecommendConfig())
    assert list(cat.index) == ["LAMP", "MUG", "POST"]
    assert cat.loc["MUG", "offerable"] and cat.loc["LAMP", "offerable"]
    assert not cat.loc["POST", "offerable"]
    assert cat.loc["MUG", "family"] == "Kitchen"
    assert cat.loc["LAMP", "family"] == "LAMP"  # no category: its own family
    assert cat.loc["MUG", "price"] == 9.0  # median sale price


def test_extra_non_merchandise_codes_are_never_offered():
    cat = build_catalog(_tx(), None, RecommendConfig(extra_non_merchandise=("LAMP",)))
    assert not cat.loc["LAMP", "offerable"]


def test_with_catalog_only_active_catalog_merchandise_is_offered_and_margin_derived():
    products = pd.DataFrame({"product_id": ["mug", "LAMP", "VASE"], "name": ["Mug", "Lamp", "Vase"],
                             "family": ["Kitchen", "Lighting", "Decor"], "price": [10.0, 40.0, 30.0],
                             "unit_cost": [4.0, None, 12.0], "margin_rate": [None, 0.5, None],
                             "active": [True, False, True], "is_merchandise": [True, True, True],
                             "in_catalog": [True, True, True]})
    cat = build_catalog(_tx(), products, RecommendConfig())
    assert cat.loc["MUG", "offerable"] and cat.loc["VASE", "offerable"]
    assert not cat.loc["LAMP", "offerable"]  # inactive
    assert not cat.loc["POST", "offerable"]  # not in the catalog, and not merchandise
    assert cat.loc["MUG", "margin_rate"] == 0.6
    assert cat.loc["LAMP", "family"] == "Lighting"
