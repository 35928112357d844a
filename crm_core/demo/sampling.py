"""Vectorised random draws shared by the demo generators."""

from __future__ import annotations

import numpy as np


def row_cumulative(weights: np.ndarray) -> np.ndarray:
    """Row-normalised cumulative weights, the last column forced to exactly 1."""
    w = np.asarray(weights, dtype=float)
    totals = w.sum(axis=1, keepdims=True)
    totals[totals == 0] = 1.0
    cum = np.cumsum(w / totals, axis=1)
    cum[:, -1] = 1.0
    return cum


def pick_from_rows(rng: np.random.Generator, cum: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per element of ``rows`` from row ``rows[i]`` of ``cum``.

    Args:
        rng: seeded generator.
        cum: cumulative weights per row (see :func:`row_cumulative`).
        rows: which row each draw uses.
    Returns:
        Column indices (int64), one per draw.
    """
    rows = np.asarray(rows, dtype=np.int64)
    u = rng.random(len(rows))
    out = np.empty(len(rows), dtype=np.int64)
    step = 500_000  # bound the temporary (draws x columns) matrix
    for lo in range(0, len(rows), step):
        block = cum[rows[lo:lo + step]]
        out[lo:lo + step] = (block <= u[lo:lo + step, None]).sum(axis=1)
    return np.minimum(out, cum.shape[1] - 1)


def positions_within(counts: np.ndarray) -> np.ndarray:
    """For groups of the given sizes laid end to end: 0..size-1 within each group."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts
