"""Figures of the segment pages: pure builders, frames in, Plotly figures out.

Segment figures carry the segment *code* in ``customdata`` (treemap, heatmap
cells carry R and F) so that a page can turn a click into a filter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from crm_core.charts.layout import empty_figure, layout
from crm_core.segment.recency import RecencyBands
from crm_core.segment.rfm import segment_label
from crm_core.segment.settings import SEGMENT_CODES
from crm_core.segment.value_notes import is_edge_note

__all__ = ["churn_risk_distribution", "cluster_scatter", "clv_distribution", "empty_frequency_note", "is_edge_note",
           "migration_sankey", "recency_caption", "rf_heatmap", "segment_treemap"]

# One fixed colour per segment code: the same segment looks the same on every chart.
SEGMENT_COLOURS = {
    "CHAMPIONS": "#1a7f37",
    "LOYAL": "#2da44e",
    "POTENTIAL_LOYALISTS": "#7cc47f",
    "NEW": "#54aeff",
    "PROMISING": "#8fd0ff",
    "NEED_ATTENTION": "#d4a72c",
    "ABOUT_TO_SLEEP": "#e3b341",
    "AT_RISK": "#e16f24",
    "CANT_LOSE": "#cf222e",
    "HIBERNATING": "#8c959f",
    "LOST": "#57606a",
    "ABSENT": "#d0d7de",
}
CHURN_COLOURS = {"low": "#2da44e", "medium": "#d4a72c", "high": "#cf222e"}
CLUSTER_COLOURS = ("#1f6f8b", "#e16f24", "#2da44e", "#8250df", "#cf222e", "#d4a72c", "#54aeff", "#57606a",
                   "#bf3989", "#7cc47f")
_LAYOUT = layout(380)
CLV_BINS = 40


def segment_treemap(customers: pd.DataFrame, *, measure: str = "customers", currency: str = "") -> go.Figure:
    """Treemap of RFM segments sized by customers or by revenue.

    Args:
        customers: one row per customer with ``rfm_segment`` (and ``monetary`` for revenue).
        measure: ``"customers"`` or ``"revenue"`` (net monetary; segments with a
            non-positive total are left out, since a treemap cannot show them).
        currency: shown in hovers.
    Returns:
        A figure whose tiles carry the segment code in ``customdata``.
    """
    if measure not in ("customers", "revenue"):
        raise ValueError("measure must be 'customers' or 'revenue'")
    title = "Segments by " + ("customers" if measure == "customers" else "revenue")
    if customers.empty:
        return empty_figure(title, "No customers in this run", height=380)
    revenue = customers["monetary"] if "monetary" in customers.columns else pd.Series(np.nan, index=customers.index)
    grouped = customers.assign(_revenue=revenue.astype("float64")).groupby("rfm_segment", observed=True).agg(
        customers=("rfm_segment", "size"), revenue=("_revenue", "sum")
    )
    grouped = grouped.reindex([c for c in SEGMENT_CODES if c in grouped.index])
    values = grouped[measure].astype("float64")
    grouped = grouped[values > 0]
    if grouped.empty:
        return empty_figure(title, "Nothing to show: no positive " + measure, height=380)
    codes = list(grouped.index)
    total = grouped[measure].sum()
    fig = go.Figure(go.Treemap(
        ids=codes, labels=[segment_label(c) for c in codes], parents=[""] * len(codes),
        values=grouped[measure].to_numpy(dtype="float64"), branchvalues="total",
        marker=dict(colors=[SEGMENT_COLOURS[c] for c in codes]),
        customdata=np.column_stack([codes, grouped["customers"].to_numpy(), grouped["revenue"].to_numpy(),
                                    (grouped[measure] / total).to_numpy()]),
        hovertemplate=("<b>%{label}</b><br>%{customdata[1]:,} customers<br>"
                       f"%{{customdata[2]:,.0f}} {currency} revenue<br>%{{customdata[3]:.1%}} of {measure}"
                       "<extra></extra>"),
        texttemplate="%{label}<br>%{customdata[3]:.0%}",
        sort=False,
    ))
    fig.update_layout(title=title, **{**_LAYOUT, "margin": dict(l=5, r=5, t=50, b=5)})
    return fig


def rf_heatmap(customers: pd.DataFrame) -> go.Figure:
    """Customers per recency score (rows) x frequency score (columns), 5 x 5.

    Hovers add the mean monetary when ``monetary`` is present; each cell's
    ``customdata`` is [R, F]. An empty frequency column gets a note under the
    chart saying why (:func:`empty_frequency_note`).
    """
    title = "Recency x frequency scores"
    if customers.empty:
        return empty_figure(title, "No customers in this run", height=380)
    r = customers["r_score"].to_numpy(dtype="int64")
    f = customers["f_score"].to_numpy(dtype="int64")
    counts = np.zeros((5, 5), dtype="int64")
    np.add.at(counts, (r - 1, f - 1), 1)
    mean_value = np.full((5, 5), np.nan)
    if "monetary" in customers.columns:
        sums = np.zeros((5, 5))
        np.add.at(sums, (r - 1, f - 1), customers["monetary"].to_numpy(dtype="float64"))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_value = np.where(counts > 0, sums / counts, np.nan)
    scores = [1, 2, 3, 4, 5]
    cell = np.array([[[rr, ff] for ff in scores] for rr in scores])
    fig = go.Figure(go.Heatmap(
        z=counts, x=[f"F{s}" for s in scores], y=[f"R{s}" for s in scores], colorscale="Blues",
        text=counts, texttemplate="%{text:,}",
        customdata=np.dstack([cell, np.nan_to_num(mean_value)]),
        hovertemplate="R %{customdata[0]}, F %{customdata[1]}: %{z:,} customers<br>"
                      "mean net total %{customdata[2]:,.0f}<extra></extra>",
        colorbar=dict(title="Customers"),
    ))
    fig.update_layout(title=title, xaxis_title="Frequency score", yaxis_title="Recency score (5 = most recent)",
                      **_LAYOUT)
    note = empty_frequency_note(counts.sum(axis=0), float((f == 1).mean()))
    if note:
        fig.add_annotation(text=note, xref="paper", yref="paper", x=0.0, y=-0.3, showarrow=False, xanchor="left",
                           align="left", font=dict(size=11, color="#57606a"))
        fig.update_layout(margin=dict(b=110))
    return fig


def empty_frequency_note(per_f_score, f1_share: float) -> str | None:
    """Why frequency columns are empty: ties at one purchase all score F1 (None when none is empty).

    Args:
        per_f_score: customers per F score 1..5.
        f1_share: share of customers at F1.
    """
    counts = np.asarray(per_f_score)
    empty = [f"F{s}" for s in range(2, 6) if counts[s - 1] == 0 and counts[s:].sum() > 0]
    if not empty or counts.sum() == 0:
        return None
    return (f"No customer scores {' or '.join(empty)}: {f1_share:.0%} of customers bought once and share the "
            "lowest score, F1<br>(customers with equal values always get equal scores), so the next scores start higher.")


def cluster_scatter(points: pd.DataFrame, personas: pd.Series | None = None) -> go.Figure:
    """Customers on a 2-D projection, one colour per cluster.

    Args:
        points: ``crm_core.segment.cluster.project_2d`` output (``x, y, cluster``).
        personas: optional persona name per cluster number, for the legend.
    """
    title = "Clusters (2-D projection of the clustering features)"
    if points.empty:
        return empty_figure(title, "No customers in this run", height=380)
    fig = go.Figure()
    ids = np.asarray(points.index.astype("string"), dtype=object)
    labels = points["cluster"].to_numpy(dtype="int64", na_value=0)
    for i, cluster in enumerate(sorted(set(labels.tolist()))):
        mask = labels == cluster
        name = f"{cluster}: {personas.get(cluster)}" if personas is not None and cluster in personas.index else str(cluster)
        fig.add_trace(go.Scattergl(
            x=points["x"].to_numpy()[mask], y=points["y"].to_numpy()[mask], mode="markers", name=name,
            marker=dict(size=5, opacity=0.6, color=CLUSTER_COLOURS[i % len(CLUSTER_COLOURS)]),
            customdata=ids[mask], hovertemplate="customer %{customdata}<extra>" + name + "</extra>",
        ))
    fig.update_layout(title=title, xaxis_title="Component 1", yaxis_title="Component 2",
                      legend=dict(title="Cluster"), **_LAYOUT)
    return fig


def clv_distribution(customers: pd.DataFrame, *, currency: str = "", reason: str | None = None) -> go.Figure:
    """Histogram of predicted CLV in :data:`CLV_BINS` equal bins; an explanation instead when the model was not fitted.

    The bins are counted here, not in the browser: the figure carries 40 bars whatever the
    number of customers (a Plotly histogram would carry every value, a million at 1M customers,
    serialised and sent again on every rerun of the page).
    """
    title = "Predicted customer value over the horizon"
    values = customers["clv"].dropna().to_numpy(dtype="float64") if "clv" in customers.columns else np.array([])
    if len(values) == 0:
        return empty_figure(title, reason or "CLV not available for this run", height=380)
    top = float(np.quantile(values, 0.99)) if len(values) > 100 else float(values.max())
    counts, edges = np.histogram(np.clip(values, None, top), bins=CLV_BINS)
    fig = go.Figure(go.Bar(
        x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges), marker_color=CLUSTER_COLOURS[0],
        customdata=np.column_stack([edges[:-1], edges[1:]]),
        hovertemplate=f"%{{customdata[0]:,.2f}}–%{{customdata[1]:,.2f}} {currency}: %{{y:,}} customers"
                      "<extra></extra>",
    ))
    note = " (top 1% shown at the 99th percentile)" if len(values) > 100 and top < values.max() else ""
    fig.update_layout(title=title + note, xaxis_title=f"CLV {currency}".strip(), yaxis_title="Customers",
                      showlegend=False, bargap=0, **_LAYOUT)
    return fig


def churn_risk_distribution(customers: pd.DataFrame, *, reason: str | None = None) -> go.Figure:
    """Customers per churn-risk band (low, medium, high)."""
    title = "Churn risk"
    if "churn_risk" not in customers.columns or customers["churn_risk"].dropna().empty:
        return empty_figure(title, reason or "Churn risk not available for this run", height=380)
    levels = list(CHURN_COLOURS)
    counts = customers["churn_risk"].value_counts().reindex(levels, fill_value=0)
    fig = go.Figure(go.Bar(
        x=[lvl.title() for lvl in levels], y=counts.to_numpy(), marker_color=[CHURN_COLOURS[lvl] for lvl in levels],
        customdata=levels, text=counts.to_numpy(), texttemplate="%{text:,}",
        hovertemplate="%{x} risk: %{y:,} customers<extra></extra>",
    ))
    fig.update_layout(title=title, yaxis_title="Customers", showlegend=False, **_LAYOUT)
    return fig


def migration_sankey(matrix: pd.DataFrame) -> go.Figure:
    """Sankey of customers moving between segments from one run to the next.

    Args:
        matrix: ``crm_core.segment.compare.segment_migration`` output.
    """
    title = "Segment migration between the two runs"
    flows = matrix.stack()
    flows = flows[flows > 0]
    if flows.empty:
        return empty_figure(title, "No customers in either run", height=380)
    sources = [c for c in matrix.index if matrix.loc[c].sum() > 0]
    targets = [c for c in matrix.columns if matrix[c].sum() > 0]
    nodes = [f"{segment_label(c)} (before)" for c in sources] + [f"{segment_label(c)} (after)" for c in targets]
    colours = [SEGMENT_COLOURS.get(c, "#8c959f") for c in sources + targets]
    src_pos = {c: i for i, c in enumerate(sources)}
    dst_pos = {c: len(sources) + i for i, c in enumerate(targets)}
    fig = go.Figure(go.Sankey(
        node=dict(label=nodes, color=colours, pad=12, thickness=14),
        link=dict(
            source=[src_pos[b] for b, _ in flows.index], target=[dst_pos[a] for _, a in flows.index],
            value=flows.to_numpy(dtype="int64"),
            color=[_transparent(SEGMENT_COLOURS.get(b, "#8c959f")) for b, _ in flows.index],
            customdata=[[segment_label(b), segment_label(a)] for b, a in flows.index],
            hovertemplate="%{customdata[0]} -> %{customdata[1]}: %{value:,} customers<extra></extra>",
        ),
    ))
    fig.update_layout(title=title, **{**_LAYOUT, "height": 520})
    return fig


def _transparent(hex_colour: str, alpha: float = 0.35) -> str:
    """``#rrggbb`` as an ``rgba()`` string (Sankey links under their nodes)."""
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def recency_caption(rfm: dict | None) -> str | None:
    """The sentence under the R x F heatmap that says how R was scored in a run (None before the rule existed).

    Args:
        rfm: the run's ``params["rfm"]`` (:meth:`crm_core.segment.recency.RecencyBands.to_dict` and ``f1_share``).
    """
    if not rfm:
        return None
    if rfm.get("recency_rule") == "rhythm":
        bands = RecencyBands("rhythm", rfm.get("median_gap_days"), tuple(rfm.get("recency_bands_days") or ()))
        return (f"Recency follows this shop's rhythm: its customers buy about every {bands.median_gap_days:,.0f} "
                "days. " + " · ".join(f"**{score}** {days}" for score, days in bands.labels()))
    return ("Recency is scored by percentile of the whole base (R5 = the most recent fifth)."
            + (f" {rfm['reason']}." if rfm.get("reason") else ""))
