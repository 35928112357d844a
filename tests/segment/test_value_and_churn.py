"""Predicted value, the one-off buyer churn rule, bands, and honest failure."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crm_core.features import customer_features
from crm_core.segment.bgnbd import BetaGeoModel, ModelFitFailed, PurchaseSummaryInvalid
from crm_core.segment.settings import ValueConfig
from crm_core.segment.value import churn_bands, predict_value, purchase_day_summary

from .builders import AS_OF, make_tx


@pytest.fixture(scope="module")
def value_run(simulated_tx):
    features = customer_features(simulated_tx, AS_OF)
    return features, predict_value(features, ValueConfig(time_unit="days"))


def test_value_columns_are_filled_for_everyone(value_run):
    features, result = value_run
    assert result.reasons == ()
    frame = result.frame
    assert frame.index.equals(features.index)
    assert not frame[["expected_purchases", "clv", "p_alive", "churn_score", "churn_risk"]].isna().any().any()
    assert ((frame["p_alive"] >= 0) & (frame["p_alive"] <= 1)).all()
    assert (frame["expected_purchases"] >= 0).all()
    model = result.params["clv_model"]
    assert set(model) >= {"r", "alpha", "a", "b", "p", "q", "gamma", "time_unit", "log_likelihood"}
    assert model["time_unit"] == "days" and all(model[k] > 0 for k in ("r", "alpha", "a", "b", "p", "q", "gamma"))


def test_a_one_off_buyer_from_300_days_ago_is_not_low_risk(simulated_tx):
    late = make_tx([
        {"customer_id": "ONE_OFF_OLD", "invoice_id": "X1", "invoice_date": pd.Timestamp(AS_OF) - pd.Timedelta(days=300),
         "amount": 50.0},
        {"customer_id": "ONE_OFF_NEW", "invoice_id": "X2", "invoice_date": pd.Timestamp(AS_OF) - pd.Timedelta(days=3),
         "amount": 50.0},
    ])
    features = customer_features(pd.concat([simulated_tx, late], ignore_index=True), AS_OF)
    for unit in ("days", "weeks"):
        frame = predict_value(features, ValueConfig(time_unit=unit)).frame
        assert frame.loc["ONE_OFF_OLD", "churn_risk"] in ("medium", "high")
        assert frame.loc["ONE_OFF_OLD", "p_alive"] < 1.0  # not BG/NBD's automatic 1
        assert frame.loc["ONE_OFF_OLD", "churn_score"] > frame.loc["ONE_OFF_NEW", "churn_score"]


def test_repeat_buyers_churn_score_is_one_minus_p_alive(value_run):
    features, result = value_run
    repeat = features["purchase_days"] > 1
    frame = result.frame[repeat.to_numpy()]
    np.testing.assert_allclose(frame["churn_score"].to_numpy(float), 1 - frame["p_alive"].to_numpy(float))


def test_clv_is_expected_purchases_times_expected_spend(value_run):
    features, result = value_run
    frame = result.frame
    spend = frame["clv"].to_numpy(float) / frame["expected_purchases"].to_numpy(float)
    one_offs = (features["purchase_days"] == 1).to_numpy()
    assert np.ptp(spend[one_offs]) < 1e-6 * spend[one_offs].mean()  # one-off buyers: the population mean
    assert np.ptp(spend[~one_offs]) > 1.0  # repeat buyers: their own conditional mean


def test_discounting_lowers_clv(simulated_tx):
    features = customer_features(simulated_tx, AS_OF)
    plain = predict_value(features, ValueConfig()).frame["clv"].to_numpy(float)
    discounted = predict_value(features, ValueConfig(discount_rate=0.2)).frame["clv"].to_numpy(float)
    assert (discounted < plain).all() and (discounted > 0.8 * plain).all()


def test_churn_bands_boundaries():
    score = pd.Series([0.0, 0.3299, 0.33, 0.6599, 0.66, 1.0, np.nan])
    assert churn_bands(score, (0.33, 0.66)).tolist() == ["low", "low", "medium", "medium", "high", "high", pd.NA]


def test_too_few_repeat_buyers_fall_back_to_the_history_rule_and_say_so():
    tx = make_tx([
        {"customer_id": str(i), "invoice_id": f"I{i}", "invoice_date": "2024-01-0%d" % (1 + i % 9), "amount": 10.0}
        for i in range(30)
    ] + [{"customer_id": "0", "invoice_id": "J0", "invoice_date": "2024-03-01", "amount": 10.0}])
    features = customer_features(tx, AS_OF)
    result = predict_value(features, ValueConfig())
    frame = result.frame
    assert frame.notna().all().all() and frame["clv"].dtype == "Float64"
    # the rule, as stated: churn = recency / (recency + horizon); P(alive) = 1 - churn
    recency = features["recency_days"].to_numpy(float)
    np.testing.assert_allclose(frame["churn_score"].to_numpy(float), recency / (recency + 365))
    np.testing.assert_allclose(frame["p_alive"].to_numpy(float), 365 / (recency + 365))
    assert frame.loc["0", "clv"] > frame.loc["1", "clv"]  # the one repeat buyer ranks first
    assert [r for r in result.reasons if "only 1 customers bought on more than one day" in r]
    assert "simple rule" in result.reasons[0] and result.reasons[0].startswith("value model:")
    assert result.params["clv_model"]["r"] is None and result.params["clv_model"]["method"] == "history_rule"


def test_invalid_summary_is_refused():
    bad = pd.DataFrame({"frequency": [1.0], "recency": [5.0], "T": [3.0]}, index=["C1"])
    with pytest.raises(PurchaseSummaryInvalid, match="C1"):
        BetaGeoModel().fit(bad)
    with pytest.raises(ModelFitFailed):
        BetaGeoModel(min_repeat_customers=5).fit(pd.DataFrame({"frequency": [1.0], "recency": [1.0], "T": [3.0]}))


def test_summary_counts_purchase_days(simulated_tx):
    features = customer_features(simulated_tx, AS_OF)
    s = purchase_day_summary(features, 7)
    assert (s["frequency"] == features["purchase_days"] - 1).all()
    assert (s["recency"] <= s["T"]).all()
    assert s["T"].to_numpy() == pytest.approx(features["tenure_days"].to_numpy() / 7)


def test_homogeneous_dropout_is_fitted_and_predicted():
    # every customer has the same dropout probability: a + b grows without bound
    rng = np.random.default_rng(3)
    n = 4000
    x = rng.binomial(6, 0.4, n).astype(float)
    T = rng.integers(20, 60, n).astype(float)
    t_x = np.where(x > 0, np.minimum(T, np.ceil(rng.random(n) * T) + x), 0.0)
    summary = pd.DataFrame({"frequency": x, "recency": np.minimum(t_x, T), "T": T})
    model = BetaGeoModel().fit(summary)
    expected = model.expected_purchases(summary, 52.0)
    assert np.isfinite(expected).all() and (expected >= 0).all()


def test_dates_later_than_as_of_do_not_leak():
    tx = make_tx([
        {"customer_id": "1", "invoice_id": "A", "invoice_date": "2024-01-01", "amount": 10.0},
        {"customer_id": "1", "invoice_id": "B", "invoice_date": "2024-12-01", "amount": 10.0},
    ])
    assert customer_features(tx, dt.date(2024, 6, 30)).loc["1", "purchase_days"] == 1


def test_a_failed_spend_fit_uses_own_average_spend_and_says_so_where_pages_look(value_run, monkeypatch):
    """The Gamma-Gamma note once started with "clv:" and the pages, which look for the value model's
    notes, dropped it: CLV was empty with no reason shown. Now CLV uses a stated rule, said where pages look."""
    from crm_core.segment import value as value_module
    from crm_core.views.runs import RunInfo

    def refuse(self, summary):
        raise ModelFitFailed("spend per purchase does not vary")

    monkeypatch.setattr(value_module.GammaGammaModel, "fit", refuse)
    features, _ = value_run
    result = predict_value(features, ValueConfig(time_unit="days"))
    frame = result.frame
    assert frame["clv"].notna().all() and frame["p_alive"].notna().all()
    summary = purchase_day_summary(features, 1)
    own = (summary["frequency"] > 0) & (summary["monetary_value"] > 0)
    spend = frame["clv"].to_numpy(float) / frame["expected_purchases"].to_numpy(float)
    np.testing.assert_allclose(spend[own.to_numpy()], summary.loc[own, "monetary_value"].to_numpy(), rtol=1e-9)
    median = float(summary.loc[own, "monetary_value"].median())
    np.testing.assert_allclose(spend[~own.to_numpy()], median, rtol=1e-9)
    assert result.params["clv_model"]["spend"] == "own_average"
    assert value_module.value_notes(result.reasons) == list(result.reasons) and len(result.reasons) == 1
    run = RunInfo(1, 1, "u", "succeeded", AS_OF, "ann", None, None, "c", "d", params={"notes": list(result.reasons)})
    assert "own average spend" in run.value_model_note and "does not vary" in run.value_model_note
