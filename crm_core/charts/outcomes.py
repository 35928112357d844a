"""Figures of the outcomes loop: the funnel, uplift with its interval, conversions over time. Pure builders."""

from __future__ import annotations

import html
import math

import pandas as pd
import plotly.graph_objects as go

from crm_core.charts.layout import ACCENT, MUTED, empty_figure, layout

UPLIFT_COLOURS = {"uplift": "#2a9d8f", "drop": "#d62828", "unclear": "#8d99ae"}
GROUP_COLOURS = {"treatment": ACCENT, "holdout": MUTED}
GROUP_NAMES = {"treatment": "Treatment (contacted)", "holdout": "Holdout (not contacted)"}


def funnel_figure(funnel: pd.DataFrame, *, title: str = "From proposed offers to conversions") -> go.Figure:
    """Customers at each step: proposed → approved → exported → converted.

    Args:
        funnel: ``stage`` and ``customers``, in order (``crm_core.outcomes.results.run_funnel_frame``).
    """
    if funnel is None or funnel.empty or int(funnel["customers"].max()) == 0:
        return empty_figure(title, "No offers in this run yet")
    fig = go.Figure(go.Funnel(y=funnel["stage"].astype(str), x=funnel["customers"].astype("int64"),
                              textinfo="value+percent initial", marker_color=ACCENT,
                              hovertemplate="%{y}: %{x:,} customers<extra></extra>"))
    fig.update_layout(title=title, **layout(320, showlegend=False))
    return fig


def uplift_figure(table: pd.DataFrame, *, title: str, label_column: str = "value") -> go.Figure:
    """Uplift in conversion rate (percentage points) with its interval, one row per value.

    A point is green when the whole interval is above zero (a real uplift), red when below
    (a real drop), grey when it spans zero (too few customers to tell).

    Args:
        table: rows of ``crm_core.outcomes.uplift.uplift_table`` (``uplift_points``, ``uplift_low``,
            ``uplift_high`` as fractions, ``treatment_customers``, ``control_customers``).
        title: the figure's title.
        label_column: the column naming each row (the split's value, a campaign's name).
    """
    if table is None or table.empty:
        return empty_figure(title, "No treatment and holdout customers to compare yet")
    rows = table.assign(_label=table[label_column].map(_label))
    rows = rows[rows["uplift_points"].map(lambda v: not math.isnan(float(v)))]
    if rows.empty:
        return empty_figure(title, "Every row lacks a holdout group: nothing to compare with")
    rows = rows.iloc[::-1]  # plotly draws the first category at the bottom
    points = rows["uplift_points"].astype(float) * 100
    low, high = rows["uplift_low"].astype(float) * 100, rows["uplift_high"].astype(float) * 100
    kind = [("uplift" if lo > 0 else "drop" if hi < 0 else "unclear") for lo, hi in zip(low, high)]
    fig = go.Figure(go.Scatter(
        x=points, y=rows["_label"], mode="markers", marker=dict(size=11, color=[UPLIFT_COLOURS[k] for k in kind]),
        error_x=dict(type="data", symmetric=False, array=high - points, arrayminus=points - low, thickness=2),
        customdata=list(zip(low, high, rows["treatment_customers"], rows["control_customers"])),
        hovertemplate=("%{y}: %{x:+.1f} points<br>95 % interval %{customdata[0]:+.1f} to %{customdata[1]:+.1f}"
                       "<br>%{customdata[2]:,} treated, %{customdata[3]:,} held out<extra></extra>")))
    fig.add_vline(x=0, line_width=1, line_color="#444")
    fig.update_layout(title=title, xaxis_title="Uplift in conversion rate (percentage points)",
                      **layout(max(260, 60 + 34 * len(rows)), showlegend=False))
    return fig


def conversions_over_time_figure(timeline: pd.DataFrame, *, title: str = "Conversions over time") -> go.Figure:
    """Cumulative conversion rate of each group, day by day from the export.

    Args:
        timeline: ``date``, ``group``, ``rate`` (cumulative conversions / customers), ``cumulative``
            (``crm_core.outcomes.results.CampaignOutcome.timeline``).
    """
    if timeline is None or timeline.empty or timeline["rate"].isna().all():
        return empty_figure(title, "No customers measured yet")
    fig = go.Figure()
    for group in ("treatment", "holdout"):
        part = timeline[timeline["group"] == group]
        if part.empty or part["rate"].isna().all():
            continue
        fig.add_trace(go.Scatter(x=part["date"], y=part["rate"] * 100, mode="lines", name=GROUP_NAMES[group],
                                 line=dict(color=GROUP_COLOURS[group], width=3, shape="hv"),
                                 customdata=part["cumulative"],
                                 hovertemplate="%{x|%d %b %Y}: %{y:.1f} % (%{customdata:,} converted)<extra></extra>"))
    fig.update_layout(title=title, yaxis_title="Converted so far (%)", xaxis_title="Day",
                      **layout(340, legend=dict(orientation="h", y=-0.25)))
    return fig


def _label(value) -> str:
    """A row's label as Plotly shows it: HTML-escaped, since Plotly reads tags (even links) in labels."""
    return "(none)" if value is None or pd.isna(value) else html.escape(str(value), quote=False)
