"""Recency scored against the shop's buying rhythm; the percentile rule kept as an option; the F2 note."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_core.charts.segments import empty_frequency_note, rf_heatmap
from crm_core.errors import ConfigError
from crm_core.segment import SegmentConfig, segment_customers
from crm_core.segment.recency import RecencyBands, recency_bands
from crm_core.segment.rfm import rfm_scores
from crm_core.segment.settings import RfmConfig


def shop(recency, gaps, purchases, monetary=None) -> pd.DataFrame:
    """Features with the columns the RFM stage reads."""
    n = len(recency)
    return pd.DataFrame({
        "recency_days": np.asarray(recency, dtype="int64"), "frequency": np.asarray(purchases, dtype="int64"),
        "monetary": np.asarray(monetary if monetary is not None else [100.0] * n, dtype="float64"),
        "purchase_days": np.asarray(purchases, dtype="int64"),
        "mean_interpurchase_days": np.asarray(gaps, dtype="float64"),
    }, index=pd.Index([f"C{i:03d}" for i in range(n)], name="customer_id"))


def test_bands_are_multiples_of_the_median_days_between_purchases():
    # 30 repeat buyers with gaps 40..69 days (median 54.5) and ten one-off buyers (gaps not counted)
    f = shop(range(40), list(range(40, 70)) + [999.0] * 10, [3] * 30 + [1] * 10)
    bands = recency_bands(f, RfmConfig())
    assert bands.rule == "rhythm" and bands.median_gap_days == 54.5
    assert bands.upper_days == (28, 55, 109, 218)  # ceil of 0.5, 1, 2 and 4 x 54.5
    assert bands.labels()[0] == ("R5", "0-28 days") and bands.labels()[-1] == ("R1", "more than 218 days")


def test_r_follows_the_bands_at_their_edges():
    bands = RecencyBands("rhythm", 54.5, (28, 55, 109, 218))
    f = shop([0, 28, 29, 55, 56, 109, 110, 218, 219, 5000], [50.0] * 10, [2] * 10)
    assert rfm_scores(f, bands)["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_a_customer_idle_for_a_year_is_no_champion_on_a_shop_with_years_of_history():
    # a monthly rhythm; most of the base idle for years, so by percentile a year ago is "recent"
    recency = [365] * 5 + list(range(700, 2700, 20))
    purchases = [40] * 5 + [2 + i % 10 for i in range(100)]
    f = shop(recency, [30.0] * len(recency), purchases, [50.0 * p for p in purchases])
    by_percentile = segment_customers(f.assign(**_value_columns(f)), _config("percentile")).customers
    by_rhythm = segment_customers(f.assign(**_value_columns(f)), _config("rhythm")).customers
    assert (by_percentile.loc["C000", ["r_score", "rfm_segment"]] == [5, "CHAMPIONS"]).all()
    assert by_rhythm.loc["C000", "r_score"] == 1 and by_rhythm.loc["C000", "rfm_segment"] != "CHAMPIONS"


def test_too_few_repeat_buyers_fall_back_to_percentiles_and_say_so():
    f = shop(range(30), [20.0] * 30, [2] * 5 + [1] * 25)
    bands = recency_bands(f, RfmConfig())
    assert bands.rule == "percentile" and "only 5 customers bought on more than one day" in bands.reason
    result = segment_customers(f.assign(**_value_columns(f)), _config("rhythm"))
    assert any(r.startswith("segments: only 5 customers") for r in result.reasons)
    assert result.params["rfm"]["recency_rule"] == "percentile"


def test_the_run_keeps_the_bands_and_the_f1_share():
    f = shop(list(range(0, 400, 4)), [30.0] * 100, [1] * 60 + [4] * 40)
    params = segment_customers(f.assign(**_value_columns(f)), _config("rhythm")).params["rfm"]
    assert params["recency_rule"] == "rhythm" and params["recency_bands_days"] == [15, 30, 60, 120]
    assert params["f1_share"] == 0.6


@pytest.mark.parametrize("bad", [dict(recency="latest"), dict(recency_multiples=[1, 1, 2, 4]),
                                 dict(recency_multiples=[1, 2, 4]), dict(min_rhythm_customers=1)])
def test_bad_recency_settings_are_refused(bad):
    with pytest.raises(ConfigError, match="segment.rfm"):
        SegmentConfig.from_dict({"rfm": bad})


def test_an_empty_f2_column_says_why():
    customers = pd.DataFrame({"r_score": [1, 2, 3, 4, 5] * 4, "f_score": [1] * 12 + [3] * 4 + [5] * 4,
                              "monetary": [10.0] * 20})
    fig = rf_heatmap(customers)
    assert "No customer scores F2 or F4: 60% of customers bought once" in fig.layout.annotations[0].text
    assert empty_frequency_note([4, 4, 4, 4, 4], 0.2) is None
    assert rf_heatmap(customers.assign(f_score=[1, 2, 3, 4, 5] * 4)).layout.annotations == ()


def _config(rule: str) -> SegmentConfig:
    return SegmentConfig.from_dict({"rfm": {"recency": rule}, "cluster": {"k": 2}})


def _value_columns(f: pd.DataFrame) -> dict:
    """The remaining feature columns the segment stage reads (clusters and the value model)."""
    end = pd.Timestamp("2024-06-30")
    last = end - pd.to_timedelta(f["recency_days"], unit="D")
    span = (f["purchase_days"] - 1) * f["mean_interpurchase_days"].clip(upper=30)
    return {"last_purchase": last, "first_purchase": last - pd.to_timedelta(span, unit="D"),
            "tenure_days": f["recency_days"] + span.astype("int64"), "mean_repeat_day_spend": 50.0,
            "n_products": 3.0, "n_families": 2.0, "avg_order_value": 50.0, "items_per_order": 2.0,
            "return_share": 0.0, "non_merch_share": 0.0}


def test_the_segments_page_caption_names_the_bands_or_the_percentile_rule():
    from crm_core.charts.segments import recency_caption

    rhythm = RecencyBands("rhythm", 30.2, (16, 31, 61, 121)).to_dict()
    assert recency_caption(rhythm) == ("Recency follows this shop's rhythm: its customers buy about every 30 days. "
                                       "**R5** 0-16 days · **R4** 17-31 days · **R3** 32-61 days · **R2** 62-121 days"
                                       " · **R1** more than 121 days")
    forced = RecencyBands("percentile", reason="only 5 customers bought on more than one day").to_dict()
    assert "percentile of the whole base" in recency_caption(forced) and "only 5 customers" in recency_caption(forced)
    assert recency_caption(None) is None
