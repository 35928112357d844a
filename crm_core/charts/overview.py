"""Figures of the Overview page: pure builders, frames from crm_core.views.overview in, Plotly figures out."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from crm_core.charts.layout import ACCENT, MUTED, empty_figure, layout

_LAYOUT = layout(360, showlegend=False)


def revenue_by_month_figure(frame: pd.DataFrame, currency: str) -> go.Figure:
    """Bar chart of net revenue per month.

    Args:
        frame: ``crm_core.views.overview.revenue_by_month`` (``month``, ``revenue``, ``orders``).
        currency: ISO code shown on the axis and in hovers (e.g. ``GBP``).
    """
    title = "Net revenue by month"
    if frame.empty:
        return empty_figure(title, "No transactions yet")
    fig = go.Figure(go.Bar(
        x=frame["month"], y=frame["revenue"], marker_color=ACCENT,
        customdata=frame[["orders"]].to_numpy(),
        hovertemplate=f"%{{x|%b %Y}}<br>%{{y:,.2f}} {currency}<br>%{{customdata[0]:,}} orders<extra></extra>"))
    fig.update_layout(title=title, yaxis_title=f"Revenue ({currency})", **_LAYOUT)
    fig.update_xaxes(dtick="M1" if len(frame) <= 18 else "M3", tickformat="%b %Y")
    return fig


def customers_by_segment_figure(frame: pd.DataFrame) -> go.Figure:
    """Horizontal bars: customers per segment, largest on top.

    Args:
        frame: ``crm_core.views.overview.customers_by_segment`` (``label``, ``customers``, ...).
    """
    title = "Customers by segment (latest run)"
    if frame.empty:
        return empty_figure(title, "No pipeline run yet")
    ordered = frame.iloc[::-1]  # plotly draws the first category at the bottom
    fig = go.Figure(go.Bar(x=ordered["customers"], y=ordered["label"], orientation="h", marker_color=ACCENT,
                           hovertemplate="%{y}: %{x:,} customers<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="Customers", **_LAYOUT)
    return fig


def customers_by_recency_figure(frame: pd.DataFrame) -> go.Figure:
    """Bars: customers by days since their last purchase (used until a run gives segments).

    Args:
        frame: ``crm_core.views.overview.customers_by_recency_band`` (``band``, ``customers``).
    """
    title = "Customers by days since last purchase"
    if frame.empty or int(frame["customers"].sum()) == 0:
        return empty_figure(title, "No customers yet")
    colours = [ACCENT] * 2 + [MUTED] * (len(frame) - 2)
    fig = go.Figure(go.Bar(x=frame["band"], y=frame["customers"], marker_color=colours,
                           hovertemplate="%{x}: %{y:,} customers<extra></extra>"))
    fig.update_layout(title=title, yaxis_title="Customers", **_LAYOUT)
    return fig
