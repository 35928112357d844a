"""Golden test: BG/NBD and Gamma-Gamma on CDNOW reproduce the published parameters.

Data: tests/data/cdnow_sample.txt (copied from ../shared/data, shipped with the
MIT-licensed lifetimes package). Fit on the 39 weeks 1997-01-01..1997-09-30,
purchases of one customer on one day counted as one (values summed), time in weeks.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crm_core.errors import ModelNotFitted
from crm_core.features import customer_features
from crm_core.segment.bgnbd import BetaGeoModel
from crm_core.segment.gamma_gamma import GammaGammaModel
from crm_core.segment.value import purchase_day_summary

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow_sample.txt"
END = dt.date(1997, 9, 30)


def sig3(value: float) -> float:
    return float(f"{value:.3g}")


@pytest.fixture(scope="module")
def cdnow_features() -> pd.DataFrame:
    raw = pd.read_csv(CDNOW, sep=r"\s+", header=None, names=["cid", "other", "date", "cds", "value"],
                      dtype={"cid": str, "other": str, "date": str})
    tx = pd.DataFrame({
        "customer_id": raw["cid"].astype("string"),
        "invoice_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
        "amount": raw["value"].astype("float64"),
        "is_return": False,
    })
    return customer_features(tx, END)


def test_calibration_sample(cdnow_features):
    summary = purchase_day_summary(cdnow_features, 7)
    assert len(summary) == 2357
    assert int((summary["frequency"] > 0).sum()) == 946


def test_bgnbd_matches_fader_hardie_lee_2005(cdnow_features):
    model = BetaGeoModel().fit(purchase_day_summary(cdnow_features, 7))
    p = model.params_
    assert (sig3(p["r"]), sig3(p["alpha"]), sig3(p["a"]), sig3(p["b"])) == (0.243, 4.41, 0.793, 2.43)
    assert p["alpha"] == pytest.approx(4.414, abs=0.0005)
    assert p["b"] == pytest.approx(2.426, abs=0.0005)
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)


def test_bgnbd_in_days_scales_alpha_by_seven(cdnow_features):
    weeks = BetaGeoModel().fit(purchase_day_summary(cdnow_features, 7)).params_
    days = BetaGeoModel().fit(purchase_day_summary(cdnow_features, 1)).params_
    assert days["alpha"] == pytest.approx(7 * weeks["alpha"], rel=1e-4)
    for name in ("r", "a", "b"):
        assert days[name] == pytest.approx(weeks[name], rel=1e-4)


def test_gamma_gamma_matches_fader_hardie_lee_2005(cdnow_features):
    model = GammaGammaModel().fit(purchase_day_summary(cdnow_features, 7))
    p = model.params_
    assert model.n_customers_ == 946
    assert (sig3(p["p"]), sig3(p["q"])) == (6.25, 3.74)
    assert p["gamma"] == pytest.approx(15.44, abs=0.005)


def test_published_conditional_expectation():
    # FHL 2005, section 5: x = 2, t_x = 30.43, T = 38.86 weeks -> 1.226 purchases in the next 39 weeks
    model = BetaGeoModel()
    model.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    one = pd.DataFrame({"frequency": [2.0], "recency": [30.43], "T": [38.86]})
    assert model.expected_purchases(one, 39.0)[0] == pytest.approx(1.226, abs=0.0005)


def test_new_customer_expectation_is_the_population_formula():
    from scipy.special import hyp2f1

    r, alpha, a, b, t = 0.243, 4.414, 0.793, 2.426, 52.0
    model = BetaGeoModel()
    model.params_ = {"r": r, "alpha": alpha, "a": a, "b": b}
    new = pd.DataFrame({"frequency": [0.0], "recency": [0.0], "T": [0.0]})
    population = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    assert model.expected_purchases(new, t)[0] == pytest.approx(population, rel=1e-9)


def test_quadrature_fallback_agrees_with_the_closed_form():
    from crm_core.segment.bgnbd import _expected_if_alive, _expected_if_alive_by_quadrature

    x = np.array([0.0, 1.0, 3.0, 20.0, 100.0])
    T = np.array([38.0, 20.0, 38.9, 30.0, 39.0])
    closed = _expected_if_alive(0.243, 4.414, 0.793, 2.426, x, T, 39.0)
    numeric = _expected_if_alive_by_quadrature(0.243, 4.414, 0.793, 2.426, x, T, 39.0)
    np.testing.assert_allclose(numeric, closed, rtol=1e-5)


def test_predicting_before_fit_raises():
    one = pd.DataFrame({"frequency": [1.0], "recency": [1.0], "T": [2.0], "monetary_value": [3.0]})
    with pytest.raises(ModelNotFitted):
        BetaGeoModel().p_alive(one)
    with pytest.raises(ModelNotFitted):
        GammaGammaModel().expected_spend(one)
