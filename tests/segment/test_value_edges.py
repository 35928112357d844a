"""The value models always answer honestly: edges, restarts, the optimiser's status, and stated fallbacks.

Synthetic summaries are drawn from known parameters (tests/segment/bgnbd_data.py); the reference
log-likelihoods are lifetimes' (tests/segment/reference_fits.py, run once outside the project).
"Never below the reference" allows 1e-6 for float rounding in a sum of thousands of terms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy.special import gammaln

from crm_core.segment import mle
from crm_core.segment.bgnbd import BetaGeoModel, ModelFitFailed
from crm_core.segment.gamma_gamma import GammaGammaModel
from crm_core.segment.settings import ValueConfig
from crm_core.segment.value import predict_value, purchase_day_summary
from crm_core.segment.value_notes import EDGE_NOTE_PREFIX, is_edge_note

from .bgnbd_data import features_from_summary, summaries
from .reference_fits import BGNBD, GAMMA_GAMMA
from .test_clv_cdnow import cdnow_features  # noqa: F401 (fixture)

ROUNDING = 1e-6


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    made = summaries()
    for name, ((n, repeaters, sum_T), _) in BGNBD.items():  # the very data the reference was fitted on
        if name in made:
            s = made[name]
            assert (len(s), int((s["frequency"] > 0).sum()), round(float(s["T"].sum()), 4)) == (n, repeaters, sum_T)
    assert round(float(made["gg_constant_spend"]["monetary_value"].sum()), 2) == 20198.41
    return made


def reference_ll(r, alpha, a, b, s: pd.DataFrame) -> float:
    """FHL (2005) eq. 6 written out independently; beta ratios as exact products (no gammaln cancellation)."""
    x, t_x, T = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    xi = x.astype(int)
    j = np.arange(xi.max())
    with np.errstate(divide="ignore"):
        log_ratio = np.concatenate([[0.0], np.cumsum(np.log((b + j) / (a + b + j)))])  # log B(a, b+x) / B(a, b)
        alive = log_ratio[xi] - (r + x) * np.log(alpha + T)
        dead = np.where(x > 0, np.log(a) - np.log(a + b + np.maximum(x, 1) - 1) + log_ratio[np.maximum(xi - 1, 0)]
                        - (r + x) * np.log(alpha + t_x), -np.inf)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    return float(np.sum(base + np.logaddexp(alive, dead)))


@pytest.mark.parametrize("name", ["middle", "no_dropout", "dropout_certain", "same_rate", "issue_like"])
def test_bgnbd_log_likelihood_is_never_below_the_reference(data, name):
    ref = BGNBD[name][1]
    model = BetaGeoModel().fit(data[name])
    exact_at_reference = reference_ll(ref["r"], ref["alpha"], ref["a"], ref["b"], data[name])
    assert model.log_likelihood_ >= ref["ll"] - ROUNDING or (
        name == "dropout_certain" and ref["ll"] - exact_at_reference == pytest.approx(1.43e-4, abs=2e-5))
    assert model.log_likelihood_ >= exact_at_reference - ROUNDING
    p = model.params_
    assert model.log_likelihood_ == pytest.approx(reference_ll(p["r"], p["alpha"], p["a"], p["b"], data[name]),
                                                  abs=ROUNDING)  # the reported figure is the model's own


def _fits_at_least_as_well_as_the_reference(name: str, summary: pd.DataFrame) -> None:
    assert (len(summary), int((summary["frequency"] > 0).sum())) == BGNBD[name][0][:2]
    assert BetaGeoModel().fit(summary).log_likelihood_ >= BGNBD[name][1]["ll"] - ROUNDING
    assert GammaGammaModel().fit(summary).log_likelihood_ >= GAMMA_GAMMA[name]["ll"] - ROUNDING


def test_cdnow_fits_at_least_as_well_as_the_reference(cdnow_features):  # noqa: F811 (the fixture)
    _fits_at_least_as_well_as_the_reference("cdnow", purchase_day_summary(cdnow_features, 7))


@pytest.mark.realdata
def test_online_retail_fits_at_least_as_well_as_the_reference(shared_data):
    from .test_segment_realdata import _load

    _fits_at_least_as_well_as_the_reference("online_retail", purchase_day_summary(_load(str(shared_data))[1], 7))


def test_bgnbd_recovers_the_middle_within_15_percent(data):
    p = BetaGeoModel().fit(data["middle"]).params_
    for name, true in dict(r=0.5, alpha=4.0, a=0.8, b=2.5).items():
        assert p[name] == pytest.approx(true, rel=0.15), name


def test_no_dropout_is_recovered_as_an_edge_not_a_failure(data):
    model = BetaGeoModel().fit(data["no_dropout"])
    p = model.params_
    assert p["a"] / (p["a"] + p["b"]) < 0.01  # made with no dropout at all
    assert p["r"] == pytest.approx(0.8, rel=0.05) and p["alpha"] == pytest.approx(6.0, rel=0.05)
    assert model.edges_ in (("no_dropout",), ("all_or_nothing",))


def test_certain_dropout_is_recovered_as_an_edge(data):
    model = BetaGeoModel().fit(data["dropout_certain"])
    p = model.params_
    assert model.edges_ == ("dropout_certain",) and p["b"] == 0.0
    assert p["r"] / p["alpha"] == pytest.approx(0.8 / 20.0, rel=0.05)  # the mean purchase rate
    assert p["r"] == pytest.approx(0.8, rel=0.15) and p["alpha"] == pytest.approx(20.0, rel=0.15)
    expected = model.expected_purchases(data["dropout_certain"], 52.0)
    assert np.isfinite(expected).all() and (expected <= 1.0).all()  # at most one more purchase, then gone


def test_everyone_buying_at_one_rate_is_fitted(data):
    p = BetaGeoModel().fit(data["same_rate"]).params_
    assert p["r"] > 100  # made with r = infinity
    assert p["r"] / p["alpha"] == pytest.approx(0.2, rel=0.03)
    assert p["a"] / (p["a"] + p["b"]) == pytest.approx(0.8 / 3.3, rel=0.1)


def test_the_shop_from_the_issue_is_fitted(data):
    """It failed with "BG/NBD did not converge (CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH)"."""
    model = BetaGeoModel().fit(data["issue_like"])
    p = model.params_
    assert p["a"] / (p["a"] + p["b"]) < 0.005 and model.edges_ in (("same_dropout",), ("no_dropout",))
    assert p["r"] / p["alpha"] == pytest.approx(0.6 / 30.0, rel=0.05)


@pytest.mark.parametrize("message", ["CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH",
                                     "CONVERGENCE: REL_REDUCTION_OF_F_<=_FACTR*EPSMCH"])
def test_scipy_success_message_is_read_as_success(message):
    res = optimize.OptimizeResult(x=np.array([0.5]), fun=1.0, jac=np.array([3.0]), success=True, message=message)
    assert mle.converged(res, [(-15.0, 15.0)], 1e-4)


def test_status_comes_from_the_projected_gradient_when_scipy_says_no():
    bounds = [(-15.0, 15.0), (-15.0, 15.0)]
    stuck = dict(fun=1.0, success=False, message="ABNORMAL: ")
    on_edge = optimize.OptimizeResult(x=np.array([-15.0, 0.2]), jac=np.array([0.5, 1e-7]), **stuck)
    assert mle.converged(on_edge, bounds, 1e-4)  # the gradient only pushes out of the box
    inside = optimize.OptimizeResult(x=np.array([-3.0, 0.2]), jac=np.array([0.5, 1e-7]), **stuck)
    assert not mle.converged(inside, bounds, 1e-4)


def test_a_lone_repeat_buyer_still_gets_a_finite_answer():
    one_repeat = pd.DataFrame({"frequency": [1.0] + [0.0] * 99, "recency": [1.0] + [0.0] * 99,
                               "T": [1000.0] * 100})
    model = BetaGeoModel(min_repeat_customers=1).fit(one_repeat)
    assert np.isfinite(model.log_likelihood_) and all(np.isfinite(v) for v in model.params_.values())
    assert np.isfinite(model.expected_purchases(one_repeat, 365.0)).all()


@pytest.mark.parametrize("name", ["gg_middle", "gg_constant_spend", "gg_same_spenders"])
def test_gamma_gamma_log_likelihood_is_never_below_the_reference(data, name):
    assert GammaGammaModel().fit(data[name]).log_likelihood_ >= GAMMA_GAMMA[name]["ll"] - ROUNDING


def test_gamma_gamma_recovers_its_parameters_and_edges(data):
    middle = GammaGammaModel().fit(data["gg_middle"])
    for name, true in dict(p=6.0, q=3.5, gamma=15.0).items():
        assert middle.params_[name] == pytest.approx(true, rel=0.1), name
    constant = GammaGammaModel().fit(data["gg_constant_spend"])
    assert constant.edges_ == ("constant_spend",) and constant.params_["p"] is None
    assert constant.params_["q"] == pytest.approx(3.5, rel=0.1)
    s = data["gg_constant_spend"]
    own = (s["frequency"] > 0).to_numpy()
    assert np.allclose(constant.expected_spend(s)[own], s["monetary_value"].to_numpy()[own])
    alike = GammaGammaModel().fit(data["gg_same_spenders"])
    assert alike.edges_ == ("same_spenders",) and alike.params_["p"] == pytest.approx(6.0, rel=0.1)
    assert alike.mean_spend_ == pytest.approx(6.0 * 5.0, rel=0.05)


def test_edge_fits_are_notes_a_marketer_reads(data):
    features = features_from_summary(data["no_dropout"].assign(T=lambda s: s["T"] * 7, recency=lambda s: s["recency"] * 7))
    result = predict_value(features, ValueConfig(time_unit="weeks"))
    edges = result.params["clv_model"]["bgnbd_edges"]
    assert edges in (["no_dropout"], ["all_or_nothing"])
    notes = [n for n in result.reasons if is_edge_note(n)]
    assert notes and notes[0].startswith(EDGE_NOTE_PREFIX)
    assert "keep buying" in notes[0] or "hardly ever stop buying" in notes[0]
    assert result.frame[["clv", "p_alive", "churn_risk"]].notna().all().all()


def test_no_dropout_reads_churn_as_no_purchase_within_the_horizon():
    summary = pd.DataFrame({"frequency": [3.0, 3.0], "recency": [50.0, 300.0], "T": [300.0, 300.0]})
    model = BetaGeoModel()
    model.params_ = {"r": 0.8, "alpha": 40.0, "a": 0.0, "b": 1.0}
    assert (model.p_alive(summary) == 1.0).all()
    np.testing.assert_allclose(model.expected_purchases(summary, 365.0), 3.8 * 365.0 / 340.0)


@pytest.mark.parametrize("monetary, words", [
    (lambda x, rng: np.where(x > 0, 25.0, 0.0), "spends exactly 25"),
    (lambda x, rng: np.where(x > 0, np.round(rng.pareto(0.6, len(x)) * 10 + 1, 2), 0.0), "q = "),
    (lambda x, rng: np.where((np.cumsum(x > 0) <= 3) & (x > 0), 20.0, 0.0), "only 3 customers"),
])
def test_gamma_gamma_failures_keep_clv_with_a_visible_note(data, monetary, words):
    s = data["middle"].copy()
    s["monetary_value"] = monetary(s["frequency"].to_numpy(), np.random.default_rng(5))
    with pytest.raises(ModelFitFailed, match=words):
        GammaGammaModel().fit(s)
    features = features_from_summary(s)
    features["mean_repeat_day_spend"] = s["monetary_value"].to_numpy()
    result = predict_value(features, ValueConfig(time_unit="days"))
    assert result.frame["clv"].notna().all()
    note = [n for n in result.reasons if "spend per purchase could not be modelled" in n]
    assert len(note) == 1 and words.split()[0] in note[0] and not is_edge_note(note[0])
    assert result.params["clv_model"]["spend"] == "own_average"
