"""Cohort retention heatmap and month-over-month revenue waterfall: pure builders over crm_core.views.cohorts frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from crm_core.charts.layout import ACCENT, empty_figure, layout

COHORT_CAPTION = ("Each row is the customers whose first purchase fell in that month; each column is the share of "
                  "them who bought again that many months later (month 0 is the first purchase itself, 100 %).")
WATERFALL_CAPTION = (
    "From one month's customer revenue to the next (net of returns; anonymous sales left out). **Lost**: the "
    "previous month's revenue of customers who bought then but not this month, shown negative. **Kept ±**: what "
    "customers who bought in both months spent more (or less) than the month before. **Returning**: what customers "
    "who had bought before, but not the previous month, spent. **New**: what first-time customers spent.")
STEPS = ("Lost", "Kept ±", "Returning", "New")
_STEP_COLUMNS = {"Lost": "lost", "Kept ±": "retained_change", "Returning": "returning", "New": "new"}


def cohort_heatmap(cohorts: pd.DataFrame, *, max_cohorts: int = 24) -> go.Figure:
    """Retention by first-purchase month (rows, oldest on top) and months since (columns).

    Args:
        cohorts: :func:`crm_core.views.cohorts.cohort_retention` (long form).
        max_cohorts: only the newest this many cohorts are drawn (and their months since).
    """
    title = "Cohort retention: share of each first-purchase month buying again"
    if cohorts.empty:
        return empty_figure(title, "No customer sales yet")
    kept = sorted(cohorts["cohort"].unique())[-max_cohorts:]
    rows = cohorts[cohorts["cohort"].isin(kept)]
    share = rows.pivot(index="cohort", columns="months_since", values="retention").sort_index()
    counts = rows.pivot(index="cohort", columns="months_since", values="customers").reindex_like(share)
    sizes = rows.groupby("cohort")["cohort_size"].max().reindex(share.index)
    columns = list(range(int(share.columns.max()) + 1))
    share, counts = share.reindex(columns=columns), counts.reindex(columns=columns)
    labels = [f"{pd.Timestamp(c):%b %Y} ({int(n):,})" for c, n in zip(share.index, sizes)]
    z = share.to_numpy(dtype="float64") * 100
    text = np.where(np.isnan(z), "", np.char.mod("%.0f%%", np.nan_to_num(z)))
    custom = np.dstack([np.nan_to_num(counts.to_numpy(dtype="float64")), np.repeat(sizes.to_numpy()[:, None],
                                                                                  len(columns), axis=1)])
    fig = go.Figure(go.Heatmap(
        z=z, x=columns, y=labels, text=text, texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=100,
        customdata=custom, colorbar=dict(title="%"), xgap=1, ygap=1,
        hovertemplate="%{y}<br>%{x} months later: %{z:.1f}%<br>%{customdata[0]:,} of %{customdata[1]:,} "
                      "customers<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="Months since the first purchase", **layout(
        max(360, 28 * len(labels) + 120), showlegend=False))
    fig.update_yaxes(autorange="reversed", title="First purchase (customers)")
    fig.update_xaxes(dtick=1 if len(columns) <= 24 else 3)
    return fig


def waterfall_steps(flow: pd.DataFrame, *, months: int = 6) -> pd.DataFrame:
    """The bars of :func:`revenue_waterfall`: the start, then each month's steps and its total.

    Args:
        flow: :func:`crm_core.views.cohorts.revenue_flow`.
        months: how many of the newest months to show.
    Returns:
        Columns ``month`` (label), ``step`` (``Revenue``, a name of :data:`STEPS`, ``Total``),
        ``measure`` (``absolute``, ``relative``, ``total``) and ``value`` (float): the running sum of the
        values up to each ``Total`` equals that month's revenue.
    """
    shown = flow.tail(months)
    if shown.empty:
        return pd.DataFrame({"month": [], "step": [], "measure": [], "value": []})
    first = shown.iloc[0]
    before = pd.Timestamp(first["month"]) - pd.offsets.MonthBegin(1)
    rows = [(f"{before:%b %Y}", "Revenue", "absolute", float(first["previous_revenue"]))]
    for record in shown.itertuples(index=False):
        label = f"{pd.Timestamp(record.month):%b %Y}"
        rows += [(label, step, "relative", float(getattr(record, _STEP_COLUMNS[step]))) for step in STEPS]
        rows.append((label, "Total", "total", float(record.revenue)))
    return pd.DataFrame(rows, columns=["month", "step", "measure", "value"])


def revenue_waterfall(flow: pd.DataFrame, currency: str, *, months: int = 6) -> go.Figure:
    """Waterfall of customer revenue month over month: lost, kept ±, returning and new customers' revenue.

    Args:
        flow: :func:`crm_core.views.cohorts.revenue_flow`.
        currency: ISO code for the axis and hovers.
        months: how many of the newest months to show.
    """
    title = "Revenue flow month over month"
    steps = waterfall_steps(flow, months=months)
    if steps.empty:
        return empty_figure(title, "No customer sales yet")
    fig = go.Figure(go.Waterfall(
        x=[steps["month"].tolist(), steps["step"].tolist()], y=steps["value"].where(steps["measure"] != "total", 0),
        measure=steps["measure"].tolist(), connector=dict(line=dict(color="#c0c0c0", width=1)),
        increasing=dict(marker=dict(color="#3a923a")), decreasing=dict(marker=dict(color="#c8553d")),
        totals=dict(marker=dict(color=ACCENT)),
        hovertemplate=f"%{{x}}<br>%{{y:,.2f}} {currency}<extra></extra>"))
    fig.update_layout(title=title, yaxis_title=f"Revenue ({currency})", **layout(420, showlegend=False))
    return fig
