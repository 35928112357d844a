"""Figures of the Offers page and the model-health card: pure builders, frames in, Plotly figures out."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from crm_core.charts.layout import ACCENT, empty_figure, layout
from crm_core.recommend.settings import COMPONENTS, SCENARIOS

SCENARIO_COLOURS = {"REBUY": "#1f6f8b", "CROSS_SELL": "#e07a5f", "UPSELL": "#81b29a", "WINBACK": "#f2cc8f",
                    "NURTURE": "#9bb7c4"}
COMPONENT_LABELS = {"affinity": "Affinity", "popularity": "Popularity", "profit": "Profit",
                    "scenario_fit": "Scenario fit"}
_LAYOUT = layout(360)


def offers_by_scenario_figure(offers: pd.DataFrame, segment_column: str = "segment",
                              count_column: str | None = None) -> go.Figure:
    """Stacked bars: offers per segment (x), one colour per scenario.

    Args:
        offers: the offers frame; when it has ``segment_column`` (e.g. the RFM
            segment merged in by the caller) bars are per segment, else one bar per scenario.
        segment_column: the column holding the segment name.
        count_column: when given, each row stands for this column's number of offers (counts
            from the database, e.g. :func:`crm_core.views.offers.offer_count_rows`), not one.
    """
    title = "Offers by scenario and segment"
    if offers is None or offers.empty:
        return empty_figure(title, "No offers yet: run the pipeline")
    has_segment = segment_column in offers.columns
    x = offers[segment_column].astype("string").fillna("(none)") if has_segment else offers["scenario"]
    weights = {} if count_column is None else {"values": offers[count_column], "aggfunc": "sum"}
    counts = pd.crosstab(x.rename("x"), offers["scenario"].astype("string").rename("scenario"), **weights)
    counts = counts.fillna(0).astype("int64")
    counts = counts.loc[counts.sum(axis=1).sort_values(ascending=False, kind="mergesort").index]
    fig = go.Figure()
    for scenario in [s for s in SCENARIOS if s in counts.columns]:
        fig.add_trace(go.Bar(x=counts.index.astype(str), y=counts[scenario], name=scenario,
                             marker_color=SCENARIO_COLOURS[scenario],
                             hovertemplate=f"%{{x}}<br>{scenario}: %{{y:,}} offers<extra></extra>"))
    fig.update_layout(title=title, barmode="stack", showlegend=True, yaxis_title="Offers",
                      xaxis_title="Segment" if has_segment else "Scenario", **_LAYOUT)
    return fig


def score_distribution_figure(offers: pd.DataFrame, bins: int = 20) -> go.Figure:
    """Histogram of offer scores (0..1), stacked by scenario."""
    title = "Score distribution"
    if offers is None or offers.empty:
        return empty_figure(title, "No offers yet: run the pipeline")
    fig = go.Figure()
    for scenario in [s for s in SCENARIOS if (offers["scenario"] == s).any()]:
        part = offers.loc[offers["scenario"] == scenario, "score"].astype(float)
        fig.add_trace(go.Histogram(x=part, name=scenario, marker_color=SCENARIO_COLOURS[scenario],
                                   xbins=dict(start=0.0, end=1.0, size=1.0 / bins),
                                   hovertemplate=f"{scenario}<br>score %{{x}}<br>%{{y:,}} offers<extra></extra>"))
    fig.update_layout(title=title, barmode="stack", showlegend=True, xaxis_title="Score", yaxis_title="Offers",
                      **_LAYOUT)
    fig.update_xaxes(range=[0, 1])
    return fig


def score_components_figure(offer: pd.Series | dict, weights: dict[str, float] | None = None) -> go.Figure:
    """Horizontal bars of one offer's score components (0..1), with each weighted contribution in the hover.

    Args:
        offer: one row of the offers frame (``affinity, popularity, profit, scenario_fit, score``).
        weights: component -> weight (``RecommendConfig.weights``); components without data
            (NaN) are shown as "no data".
    """
    row = dict(offer)
    title = f"Why {row.get('product_id', 'this product')} scores {float(row.get('score', 0)):.2f}"
    names, values, texts = [], [], []
    for name in COMPONENTS:
        value = row.get(name)
        missing = value is None or pd.isna(value)
        names.append(COMPONENT_LABELS[name])
        values.append(0.0 if missing else float(value))
        w = (weights or {}).get(name)
        texts.append("no data (left out)" if missing else
                     f"{float(value):.2f}" + (f" x weight {w:.2f}" if w is not None else ""))
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=ACCENT, text=texts,
                           textposition="auto", hovertemplate="%{y}: %{text}<extra></extra>"))
    fig.update_layout(title=title, showlegend=False, xaxis_title="Component (0 to 1)", **{**_LAYOUT, "height": 260})
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(autorange="reversed")
    return fig
