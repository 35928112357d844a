"""The fast paths of the engine agree with the plain definitions they replace."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from crm_core.recommend.affinity import ItemItemModel, _cooccurrence
from crm_core.recommend.diversity import top_offers
from crm_core.recommend.engine import recommend
from crm_core.recommend.history import code_lines, history_as_of
from crm_core.recommend.scenarios import FamilyPrices
from crm_core.recommend.settings import RecommendConfig
from crm_core.recommend.text_codes import factorize_text, sorted_codes
from tests.recommend.worlds import AS_OF, days_before, make_tx


@pytest.mark.parametrize("ids", [
    ["12", "7", None, "12", "100"],          # numbers: the integer path
    ["a", "007", "7", None, "b"],            # text
    ["7", "07", "7"],                        # a leading zero is another id than the number
    ["0", "00"], ["+7", "7"], [None, None], [],
])
def test_text_codes_map_each_distinct_id_to_one_code_and_back(ids):
    codes, ids_sorted = sorted_codes(*factorize_text(pd.Series(ids, dtype="string")))
    assert list(ids_sorted) == sorted({i for i in ids if i is not None})
    assert [None if k < 0 else ids_sorted[k] for k in codes] == ids


def test_leading_zeros_beyond_the_first_rows_still_keep_the_text():
    ids = pd.Series([str(i) for i in range(1, 2001)] + ["0042", "42"], dtype="string")
    codes, distinct = factorize_text(ids)
    assert codes[-2] != codes[-1] and set(distinct.to_pylist()) >= {"0042", "42"}


def test_cooccurrence_counts_customers_who_bought_both():
    X = sp.random(400, 25, density=0.2, format="csr", random_state=3, dtype=np.float32)
    X.data[:] = 1.0
    X.sort_indices()
    assert np.array_equal(_cooccurrence(X), (X.T @ X).toarray())


def test_cooccurrence_counted_in_blocks_of_customers_is_the_same(monkeypatch):
    import crm_core.recommend.affinity as affinity

    X = sp.random(400, 25, density=0.2, format="csr", random_state=4, dtype=np.float32)
    X.data[:] = 1.0
    X.sort_indices()
    monkeypatch.setattr(affinity, "_PAIR_BLOCK_ROWS", 7)  # 58 blocks, the last one short
    assert np.array_equal(_cooccurrence(X), (X.T @ X).toarray())


def _reference_top(customer, family, product, score, top_n):
    """The definition: sort by customer, score (desc), product; first of each family; first top_n."""
    order = np.lexsort((product, -score, customer))
    seen, picked, rank = set(), [], []
    count = {}
    for i in order:
        key = (customer[i], family[i])
        if key in seen:
            continue
        seen.add(key)
        if count.get(customer[i], 0) < top_n:
            count[customer[i]] = count.get(customer[i], 0) + 1
            picked.append(i)
            rank.append(count[customer[i]])
    return np.array(picked, dtype=np.int64), np.array(rank, dtype=np.int64)


@pytest.mark.parametrize("seed", range(20))
def test_top_offers_matches_the_sorting_definition_with_ties(seed):
    rng = np.random.default_rng(seed)
    keys = np.unique(rng.integers(0, 12, 120) * 100 + rng.integers(0, 30, 120))
    customer, product = keys // 100, keys % 100
    family = rng.integers(0, 5, len(keys))
    score = np.round(rng.random(len(keys)), 1)  # many ties: the smaller product wins
    shuffle = rng.permutation(len(keys)) if seed % 2 else np.arange(len(keys))
    args = customer[shuffle], family[shuffle], product[shuffle], score[shuffle]
    for n in (1, 2, 3):
        got, want = top_offers(*args, n), _reference_top(*args, n)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_family_prices_are_the_mean_per_customer_and_family_in_both_layouts():
    c = np.array([0, 0, 0, 1, 1, 2])
    f = np.array([0, 0, 1, 0, 1, 1])
    price = np.array([10.0, 20.0, 5.0, np.nan, 8.0, 3.0])
    for cells in (16_000_000, 0):  # the dense table and the sorted keys
        FamilyPrices._DENSE_CELLS = cells
        try:
            fp = FamilyPrices(c, f, price)
            got = fp.lookup(np.array([0, 0, 1, 1, 2, 5]), np.array([0, 1, 0, 1, 0, 0]))
        finally:
            FamilyPrices._DENSE_CELLS = 16_000_000
        assert np.allclose(got, [15.0, 5.0, np.nan, 8.0, np.nan, np.nan], equal_nan=True)


def test_history_counts_distinct_invoices_and_cuts_by_day():
    tx = make_tx([("A", "1", days_before(10), "MUG", 5.0), ("A", "1", days_before(10), "MUG", 5.0),
                  ("A", "2", days_before(40), "MUG", 5.0), ("A", "3", days_before(5), "TEA", 2.0),
                  ("B", "4", days_before(60), "MUG", 5.0), (None, "5", days_before(3), "MUG", 5.0),
                  ("A", "C6", days_before(4), "MUG", -5.0, None, True)])
    lines = code_lines(tx, pd.Index(["MUG", "TEA"], dtype="string"), None)
    today = history_as_of(lines, int((np.datetime64(AS_OF) - np.datetime64("1970-01-01")).astype(int)), 90)
    pairs = today.pairs.set_index(["c", "p"])
    a = list(lines.customers).index("A")
    assert pairs.loc[(a, 0), "n"] == 2 and pairs.loc[(a, 0), "first"] == 40 and pairs.loc[(a, 0), "last"] == 10
    assert today.customers.loc[a, "frequency"] == 3
    assert today.customers.loc[a, "monetary"] == pytest.approx(5 + 5 + 5 + 2 - 5)
    assert today.popularity[0] == 4  # invoices 1, 2, 4 and the anonymous 5
    earlier = history_as_of(lines, today.day - 20, 90)
    assert earlier.pairs.set_index(["c", "p"]).loc[(a, 0), "n"] == 1
    assert (a, 1) not in earlier.pairs.set_index(["c", "p"]).index


def test_offers_do_not_depend_on_the_threads_or_the_block_size(scenario_world, monkeypatch):
    one = recommend(scenario_world, None, None, None, as_of=AS_OF, config=RecommendConfig(threads=1))
    monkeypatch.setattr(ItemItemModel, "block_size", lambda self: 3)  # many blocks of 3 customers
    two = recommend(scenario_world, None, None, None, as_of=AS_OF, config=RecommendConfig(threads=2))
    assert one.to_csv(index=False) == two.to_csv(index=False)
