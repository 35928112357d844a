"""Fixtures of the offer engine tests: hand-built worlds whose right answers are known."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.recommend.worlds import days_before, make_tx


@pytest.fixture
def scenario_world() -> pd.DataFrame:
    """One customer per scenario rule, plus low spenders so the value quantiles are clear.

    - NEW: one invoice 5 days ago                               -> NURTURE
    - LAPSED: 6 big invoices, the last 300 days ago             -> WINBACK
    - REBUYER: SOAP every 30 days, last 45 days ago             -> REBUY
    - BIG: big spender, recent, every product once, nothing due -> UPSELL
    - REGULAR: small, recent, nothing due                       -> CROSS_SELL
    """
    rows = [("NEW", "n1", days_before(5), "MUG", 8.0, "Kitchen")]
    for i in range(6):
        rows.append(("LAPSED", f"l{i}", days_before(300 + 20 * i), "LAMP", 400.0, "Lighting"))
    for i in range(5):
        rows.append(("REBUYER", f"r{i}", days_before(45 + 30 * i), "SOAP", 20.0, "Bath"))
    for i, product in enumerate(["CHAIR", "TABLE", "SOFA"]):
        rows.append(("BIG", f"b{i}", days_before(10 + 15 * i), product, 900.0, "Furniture"))
    rows.append(("BIG", "b9", days_before(3), "MUG", 10.0, "Kitchen"))
    rows += [("REGULAR", "g1", days_before(60), "MUG", 9.0, "Kitchen"),
             ("REGULAR", "g2", days_before(12), "CANDLE", 7.0, "Lighting")]
    for k in range(6):
        rows += [(f"LOW{k}", f"w{k}a", days_before(40 + k), "CANDLE", 5.0, "Lighting"),
                 (f"LOW{k}", f"w{k}b", days_before(8 + k), "MUG", 5.0, "Kitchen"),
                 (f"LOW{k}", f"w{k}c", days_before(30 + k), "SOAP", 5.0, "Bath")]
    rows += [("LOW0", "w0p", days_before(8), "POST", 3.0, "Services"),
             (None, "anon1", days_before(2), "VASE", 30.0, "Decor"),
             ("LOW1", "w1d", days_before(50), "TABLE", 300.0, "Furniture"),
             ("LOW2", "w2d", days_before(51), "DESK", 1500.0, "Furniture"),
             ("LOW3", "w3d", days_before(52), "DESK", 1500.0, "Furniture")]
    return make_tx(rows)
