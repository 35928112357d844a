"""Small readers of AppTest element trees shared by the page tests."""

from __future__ import annotations

import pandas as pd


def frame_with(at, column: str) -> pd.DataFrame:
    """The first st.dataframe of the page that has ``column`` (AppTest does not expose dataframe keys)."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    shown = [list(d.value.columns) for d in at.dataframe]
    raise AssertionError(f"no dataframe with a {column!r} column; the page shows {shown}")


def metrics(at) -> dict[str, str]:
    """KPI card label -> shown value."""
    return {m.label: m.value for m in at.metric}
