"""Calendar helpers for the demo generators: seasonal days and times of day.

Days are integer offsets from the world's first day; ``seasonal_days`` turns
uniform draws into days that follow a yearly pattern (busy Novembers and
Decembers, quiet Sundays) by inverting the cumulative intensity, which keeps
the sampling fully vectorised.
"""

from __future__ import annotations

import numpy as np

# relative shopping intensity per month (Jan..Dec) and weekday (Mon..Sun)
RETAIL_MONTHS = np.array([0.75, 0.75, 0.85, 0.9, 0.95, 0.9, 0.9, 0.95, 1.1, 1.25, 1.6, 1.5])
RETAIL_WEEKDAYS = np.array([1.0, 1.0, 1.0, 1.05, 1.1, 1.2, 0.65])
FLAT = np.ones(12)
FLAT_WEEKDAYS = np.ones(7)


class Calendar:
    """Cumulative intensity over the days of one world, for seasonal sampling."""

    def __init__(self, start: np.datetime64, n_days: int,
                 months: np.ndarray = FLAT, weekdays: np.ndarray = FLAT_WEEKDAYS):
        self.start = np.datetime64(start, "D")
        self.n_days = int(n_days)
        days = self.start + np.arange(self.n_days).astype("timedelta64[D]")
        month = days.astype("datetime64[M]").astype(int) % 12
        weekday = (days.astype("datetime64[D]").astype(int) + 3) % 7  # 1970-01-01 was a Thursday
        weight = months[month] * weekdays[weekday]
        self.cum = np.concatenate([[0.0], np.cumsum(weight)])

    def seasonal_days(self, u: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Map uniform ``u`` in [0, 1) to a day in [lo, hi] weighted by the seasonal intensity.

        Args:
            u: uniform draws, one per event.
            lo, hi: first and last allowed day offsets (inclusive), one per event.
        Returns:
            int64 day offsets.
        """
        lo = np.asarray(lo, dtype=np.int64)
        hi = np.asarray(hi, dtype=np.int64)
        a = self.cum[lo]
        b = self.cum[hi + 1]
        target = a + u * (b - a)
        day = np.searchsorted(self.cum, target, side="right") - 1
        return np.clip(day, lo, hi)

    def to_datetime(self, day: np.ndarray, minute_of_day: np.ndarray | None = None) -> np.ndarray:
        """Day offsets (plus optional minutes) as ``datetime64[ns]``."""
        out = (self.start + np.asarray(day).astype("timedelta64[D]")).astype("datetime64[m]")
        if minute_of_day is not None:
            out = out + np.asarray(minute_of_day).astype("timedelta64[m]")
        return out.astype("datetime64[ns]")


def shop_minutes(rng: np.random.Generator, n: int, open_hour: int = 8, close_hour: int = 20) -> np.ndarray:
    """Minutes after midnight within opening hours, busier around midday."""
    span = (close_hour - open_hour) * 60
    centre = rng.triangular(0, span * 0.5, span, n)
    return (open_hour * 60 + centre).astype(np.int64)
