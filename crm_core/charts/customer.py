"""Figures of the Customer 360 page: pure builders, frames in, Plotly figures out."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go

from crm_core.charts.layout import layout
from crm_core.dates import as_timestamp

_LAYOUT = layout(320)
SALE_COLOUR, RETURN_COLOUR, LATER_COLOUR = "#1f6f8b", "#cf222e", "#8c959f"


def purchase_timeline(purchases: pd.DataFrame, *, as_of: dt.date | None = None, currency: str = "") -> go.Figure:
    """Net amount per purchase day of one customer: sales, returns, and days after the run's date.

    Args:
        purchases: ``crm_core.views.customer.Customer360.purchases`` (invoice_date,
            amount, is_return, after_as_of, invoice_id).
        as_of: the run's date, drawn as a vertical line.
        currency: for the axis title and hovers.
    Returns:
        A bar chart, one bar per day and kind; an annotated empty figure when
        the customer bought nothing.
    """
    title = "Purchases"
    fig = go.Figure()
    fig.update_layout(title=title, **_LAYOUT)
    if purchases.empty:
        fig.add_annotation(text="No purchases recorded", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return fig
    days = purchases.assign(day=purchases["invoice_date"].dt.normalize(),
                            kind=purchases["is_return"].map({True: "returns", False: "sales"}).where(
                                ~purchases["after_as_of"], "after the run's date"))
    daily = (days.groupby(["kind", "day"], observed=True)
             .agg(amount=("amount", "sum"), invoices=("invoice_id", "nunique"), lines=("amount", "size"))
             .reset_index())
    colours = {"sales": SALE_COLOUR, "returns": RETURN_COLOUR, "after the run's date": LATER_COLOUR}
    for kind, colour in colours.items():
        part = daily[daily["kind"] == kind]
        if part.empty:
            continue
        fig.add_trace(go.Bar(
            x=part["day"], y=part["amount"], name=kind.capitalize(), marker_color=colour,
            customdata=part[["invoices", "lines"]].to_numpy(),
            hovertemplate=(f"%{{x|%d %b %Y}}: %{{y:,.2f}} {currency}<br>%{{customdata[0]}} invoice(s), "
                           "%{customdata[1]} line(s)<extra></extra>"),
        ))
    if as_of is not None and as_timestamp(as_of).date() == as_of:  # a date pandas can hold
        fig.add_vline(x=pd.Timestamp(as_of).timestamp() * 1000, line_dash="dot", line_color="#57606a")
        fig.add_annotation(x=pd.Timestamp(as_of), y=1, yref="paper", text="run date", showarrow=False,
                           yanchor="bottom", font=dict(size=11, color="#57606a"))
    fig.update_layout(barmode="relative", xaxis_title=None, yaxis_title=f"Net amount {currency}".strip(),
                      legend=dict(orientation="h", y=-0.15))
    return fig
