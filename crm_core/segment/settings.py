"""Settings of the segment stage: RFM grid, clustering, value models.

``SegmentConfig`` is a frozen dataclass of three frozen parts (``rfm``,
``cluster``, ``value``) with defaults; ``SegmentConfig.from_dict`` reads the
``[segment]`` section of the TOML config (sub-tables ``[segment.rfm]``,
``[segment.cluster]``, ``[segment.value]``) and rejects unknown keys.

The RFM grid
------------
Each customer gets R, F and M scores 1..5; ``FM`` is the mean of F and M
(so 1, 1.5, ..., 5). The grid is a list of boxes, read in order: the first
box that holds (R, FM) names the segment (a code may own several boxes).

=====================  =====  =========
segment                R      FM
=====================  =====  =========
CHAMPIONS              4-5    4-5
LOYAL                  3-5    3-5
CANT_LOSE              1      4-5
AT_RISK                1-2    3-5
NEW                    5      1-1.5
PROMISING              4      1-1.5
POTENTIAL_LOYALISTS    4-5    2-2.5
NEED_ATTENTION         3      2-2.5
ABOUT_TO_SLEEP         3      1-1.5
ABOUT_TO_SLEEP         2      2-2.5
HIBERNATING            2      1-1.5
HIBERNATING            1      2-2.5
LOST                   1      1-1.5
=====================  =====  =========
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from crm_core.errors import ConfigError
from crm_core.settings_base import build_section

SEGMENT_CODES = (
    "CHAMPIONS",
    "LOYAL",
    "POTENTIAL_LOYALISTS",
    "NEW",
    "PROMISING",
    "NEED_ATTENTION",
    "ABOUT_TO_SLEEP",
    "AT_RISK",
    "CANT_LOSE",
    "HIBERNATING",
    "LOST",
)

# (code, r_min, r_max, fm_min, fm_max), inclusive, in precedence order.
DEFAULT_GRID: tuple[tuple[str, int, int, float, float], ...] = (
    ("CHAMPIONS", 4, 5, 4.0, 5.0),
    ("LOYAL", 3, 5, 3.0, 5.0),
    ("CANT_LOSE", 1, 1, 4.0, 5.0),
    ("AT_RISK", 1, 2, 3.0, 5.0),
    ("NEW", 5, 5, 1.0, 1.5),
    ("PROMISING", 4, 4, 1.0, 1.5),
    ("POTENTIAL_LOYALISTS", 4, 5, 2.0, 2.5),
    ("NEED_ATTENTION", 3, 3, 2.0, 2.5),
    ("ABOUT_TO_SLEEP", 3, 3, 1.0, 1.5),
    ("ABOUT_TO_SLEEP", 2, 2, 2.0, 2.5),
    ("HIBERNATING", 2, 2, 1.0, 1.5),
    ("HIBERNATING", 1, 1, 2.0, 2.5),
    ("LOST", 1, 1, 1.0, 1.5),
)

CLUSTER_METHODS = ("kmeans", "gmm", "hierarchical")
TIME_UNITS = {"days": 1, "weeks": 7}


RECENCY_RULES = ("rhythm", "percentile")


@dataclass(frozen=True)
class RfmConfig:
    """The RFM grid (see the module docstring) in precedence order, and how recency is scored.

    ``recency = "rhythm"`` scores R in day bands, ``recency_multiples`` (R5, R4, R3, R2 upper
    limits) times the shop's median days between purchases (:mod:`crm_core.segment.recency`);
    ``"percentile"`` by percentile of the whole base, like F and M.

    Attributes:
        grid: the named segments as boxes (name, R from, R to, FM from, FM to); the first that holds wins.
        recency: "rhythm" (day bands from the shop's buying rhythm) or "percentile" (rank in the base).
        recency_multiples: the R5, R4, R3 and R2 upper limits, in multiples of the median days between purchases.
        min_rhythm_customers: repeat buyers needed to measure the rhythm; with fewer, recency is by percentile.
    """

    grid: tuple[tuple[str, int, int, float, float], ...] = DEFAULT_GRID
    recency: str = "rhythm"
    recency_multiples: tuple[float, float, float, float] = (0.5, 1.0, 2.0, 4.0)
    min_rhythm_customers: int = 20

    def __post_init__(self) -> None:
        grid = tuple(tuple(box) for box in self.grid)
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "recency_multiples", tuple(float(m) for m in self.recency_multiples))
        if self.recency not in RECENCY_RULES:
            raise ConfigError(f"segment.rfm.recency = {self.recency!r}; use 'rhythm' or 'percentile'")
        multiples = self.recency_multiples
        if len(multiples) != 4 or not all(b > a for a, b in zip((0.0,) + multiples[:-1], multiples)):
            raise ConfigError(f"segment.rfm.recency_multiples = {list(multiples)}; give four increasing positive "
                              "multiples of the median days between purchases (R5, R4, R3, R2), e.g. [0.5, 1, 2, 4]")
        if self.min_rhythm_customers < 2:
            raise ConfigError("segment.rfm.min_rhythm_customers must be at least 2")
        for box in grid:
            if len(box) != 5 or box[0] not in SEGMENT_CODES:
                raise ConfigError(
                    f"segment.rfm.grid: {box!r} is not [CODE, r_min, r_max, fm_min, fm_max] "
                    f"with CODE one of {', '.join(SEGMENT_CODES)}"
                )
        uncovered = [
            (r, fm / 2)
            for r in range(1, 6)
            for fm in range(2, 11)
            if not any(lo <= r <= hi and flo <= fm / 2 <= fhi for _, lo, hi, flo, fhi in grid)
        ]
        if uncovered:
            raise ConfigError(
                f"segment.rfm.grid leaves (R, FM) cells without a segment: {uncovered[:5]}; "
                "add boxes so that every R 1-5 and FM 1-5 (steps of 0.5) is covered"
            )


@dataclass(frozen=True)
class ClusterConfig:
    """How customers are clustered.

    ``k=None`` chooses k in ``k_min..k_max`` by silhouette on a sample of
    ``silhouette_sample`` customers (candidates fitted on ``selection_sample``).
    K-Means and the Gaussian mixture are fitted on at most ``fit_sample``
    customers, hierarchical clustering on at most ``hierarchical_sample``
    (hard limit 10,000); everyone else is assigned to the nearest cluster.

    Attributes:
        method: "kmeans", "gmm" (Gaussian mixture) or "hierarchical" (Ward, on a sample).
        k: the number of clusters; empty: chosen by silhouette between k_min and k_max.
        k_min, k_max: the range k is chosen from.
        seed: the random seed of sampling and fitting (the same seed gives the same clusters).
        n_init: K-Means restarts (the best is kept).
        fit_sample: customers K-Means and the mixture are fitted on; the rest are assigned.
        selection_sample: customers the candidate k are fitted on when k is chosen.
        silhouette_sample: customers the silhouette is measured on.
        hierarchical_sample: customers hierarchical clustering is fitted on (at most 10,000).
    """

    method: str = "kmeans"
    k: int | None = None
    k_min: int = 2
    k_max: int = 8
    seed: int = 42
    n_init: int = 4
    fit_sample: int = 250_000
    selection_sample: int = 20_000
    silhouette_sample: int = 5_000
    hierarchical_sample: int = 5_000

    def __post_init__(self) -> None:
        if self.method not in CLUSTER_METHODS:
            raise ConfigError(f"segment.cluster.method = {self.method!r}; use one of {', '.join(CLUSTER_METHODS)}")
        if self.k is not None and not (isinstance(self.k, int) and self.k >= 2):
            raise ConfigError(f"segment.cluster.k = {self.k!r}; use an integer >= 2, or leave it out for auto")
        if not 2 <= self.k_min <= self.k_max:
            raise ConfigError(f"segment.cluster: need 2 <= k_min <= k_max, got {self.k_min}..{self.k_max}")
        if not 2 <= self.hierarchical_sample <= 10_000:
            raise ConfigError("segment.cluster.hierarchical_sample must be between 2 and 10000")
        for name in ("n_init", "fit_sample", "selection_sample", "silhouette_sample"):
            if getattr(self, name) < 1:
                raise ConfigError(f"segment.cluster.{name} must be a positive integer")


@dataclass(frozen=True)
class ValueConfig:
    """BG/NBD + Gamma-Gamma value models and churn bands.

    ``clv`` is expected revenue over ``horizon_days``; with a yearly
    ``discount_rate`` > 0 each ``discount_step_days`` slice is discounted.
    Churn risk is low below ``churn_bands[0]``, high from ``churn_bands[1]``.
    A model is not fitted with fewer than ``min_repeat_customers`` repeat buyers.

    Attributes:
        horizon_days: the days over which expected purchases and CLV are predicted.
        discount_rate: a yearly discount rate for CLV (0: undiscounted).
        discount_step_days: the slices in which CLV is discounted.
        time_unit: the unit the value models count time in ("days" or "weeks").
        churn_bands: churn risk is low below the first, high from the second.
        min_repeat_customers: repeat buyers needed to fit the value models.
        max_iter: the optimiser's iteration limit per start.
    """

    horizon_days: int = 365
    discount_rate: float = 0.0
    discount_step_days: int = 30
    time_unit: str = "weeks"
    churn_bands: tuple[float, float] = (0.33, 0.66)
    min_repeat_customers: int = 20
    max_iter: int = 500

    def __post_init__(self) -> None:
        object.__setattr__(self, "churn_bands", tuple(self.churn_bands))
        if self.horizon_days < 1:
            raise ConfigError("segment.value.horizon_days must be >= 1 (days)")
        if not 0 <= self.discount_rate < 1:
            raise ConfigError("segment.value.discount_rate is a yearly rate: use 0 (none) up to below 1, e.g. 0.1")
        if self.time_unit not in TIME_UNITS:
            raise ConfigError(f"segment.value.time_unit = {self.time_unit!r}; use 'days' or 'weeks'")
        low, high = self.churn_bands
        if not 0 < low < high < 1:
            raise ConfigError(f"segment.value.churn_bands = {self.churn_bands}; need 0 < low < high < 1")
        if self.min_repeat_customers < 2 or self.discount_step_days < 1:
            raise ConfigError("segment.value: min_repeat_customers >= 2 and discount_step_days >= 1")

    @property
    def time_unit_days(self) -> int:
        """Length of the model's time unit in days."""
        return TIME_UNITS[self.time_unit]


@dataclass(frozen=True)
class SegmentConfig:
    """All settings of the segment stage."""

    rfm: RfmConfig = field(default_factory=RfmConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    value: ValueConfig = field(default_factory=ValueConfig)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "SegmentConfig":
        """Build from the ``[segment]`` TOML section; unknown keys raise ConfigError."""
        d = dict(d or {})
        parts = {"rfm": RfmConfig, "cluster": ClusterConfig, "value": ValueConfig}
        unknown = set(d) - set(parts)
        if unknown:
            raise ConfigError(
                f"[segment] has unknown keys {sorted(unknown)}; use the sub-tables {', '.join(parts)}"
            )
        return cls(**{name: _part(part, name, d.get(name)) for name, part in parts.items()})

    def to_dict(self) -> dict:
        """Plain dict (for run.json and the config hash)."""
        return dataclasses.asdict(self)


def _part(kind: type, name: str, values: Mapping[str, Any] | None):
    return build_section(kind, f"segment.{name}", values)
