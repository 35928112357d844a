"""The house look of every figure: margins, template, heights, and the empty-figure message."""

from __future__ import annotations

import plotly.graph_objects as go

ACCENT = "#1f6f8b"
MUTED = "#9bb7c4"


def layout(height: int = 360, **overrides) -> dict:
    """Keyword arguments for ``fig.update_layout``: the house margins and template at ``height`` px."""
    return {"margin": dict(l=10, r=10, t=50, b=10), "height": height, "template": "plotly_white", **overrides}


def empty_figure(title: str, message: str, *, height: int = 360) -> go.Figure:
    """A figure that says why there is nothing to draw (no axes, one centred message)."""
    fig = go.Figure()
    fig.update_layout(title=title, **layout(height, showlegend=False))
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig
