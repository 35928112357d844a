"""Settings of the audit gate (the ``[gate]`` TOML section): rule thresholds, weights, quality levels, policies.

Why these defaults:

- ``low_score`` 0.15: the engine's scores mostly lie between 0.2 and 0.8,
  so only the tail of weak fills is flagged, not most offers.
- weights ERROR 100, WARN 15, INFO 2: one ERROR takes the audit score to 0;
  a missing pitch alone (98) or one warning (85, 83 with no pitch) stays at or
  above 80, the "good offer" line of the quality metrics; two warnings (70)
  do not.
- ``thin_data_days`` / ``stale_data_days`` 365: a year without news about a
  customer is when a shop's own data stops describing them.
- quality levels: EXCELLENT needs 80 % coverage, 80 % of customers with an
  offer scoring >= 80 and at most 2 % of offers with an ERROR; see ``QUALITY_LEVELS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_core.errors import ConfigError
from crm_core.gate.flags import FLAGS, SEVERITIES
from crm_core.gate.policies import BUILTIN_POLICIES, Policy, builtin_policy, policy_from_dict
from crm_core.settings_base import build_section

DEFAULT_WEIGHTS = {"ERROR": 100, "WARN": 15, "INFO": 2}
LEVELS = ("EXCELLENT", "GOOD", "ACCEPTABLE")  # POOR is what reaches none of them
QUALITY_KEYS = ("min_coverage", "min_high_score_share", "max_error_rate")
QUALITY_LEVELS = {
    "EXCELLENT": {"min_coverage": 0.8, "min_high_score_share": 0.8, "max_error_rate": 0.02},
    "GOOD": {"min_coverage": 0.6, "min_high_score_share": 0.6, "max_error_rate": 0.05},
    "ACCEPTABLE": {"min_coverage": 0.4, "min_high_score_share": 0.4, "max_error_rate": 0.15},
}


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the audit rules, the score weights, quality levels and gating policies.

    Attributes:
        silence_window_days: a customer contacted fewer than this many days
            before the contact date is not contacted again (CONTACTED_RECENTLY).
        recent_export_days: the same product exported to the customer fewer
            than this many days before the contact date (RECENTLY_EXPORTED).
        basket_price_ratio: price above this times the customer's median
            invoice amount (PRICE_ABOVE_BASKET).
        low_score: offer scores (0..1) below this are LOW_SCORE.
        thin_data_days: one purchase only, longer ago than this (THIN_DATA).
        stale_data_days: the customer's last line longer ago than this (STALE_DATA).
        margin_floor: margin rates (0..1) below this, when costs are known (LOW_MARGIN).
        default_repurchase_days: repurchase window of a product nobody bought
            twice (RECENTLY_BOUGHT).
        price_window_days: without a catalogue price, a product is priced at
            the median unit price of its sales in this many days before the as-of date.
        weights: penalty points per flag: keys are severities (defaults
            ERROR 100, WARN 15, INFO 2) or flag codes (overriding their severity's weight).
        high_audit_score: the "good offer" line of the quality metrics (80).
        quality_levels: per level (EXCELLENT, GOOD, ACCEPTABLE) ``min_coverage``,
            ``min_high_score_share``, ``max_error_rate``; given keys override the defaults.
        default_policy: the policy a run uses unless it names one.
        policies: custom policies, ``{name: table}`` (see ``policy_from_dict``).
    """

    silence_window_days: int = 14
    recent_export_days: int = 30
    basket_price_ratio: float = 3.0
    low_score: float = 0.15
    thin_data_days: int = 365
    stale_data_days: int = 365
    margin_floor: float = 0.10
    default_repurchase_days: int = 30
    price_window_days: int = 365
    weights: dict = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    high_audit_score: int = 80
    quality_levels: dict = field(default_factory=lambda: {k: dict(v) for k, v in QUALITY_LEVELS.items()})
    default_policy: str = "standard"
    policies: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> "GateConfig":
        """Build from the ``[gate]`` section; unknown keys or bad values raise ConfigError."""
        d = dict(d or {})
        if isinstance(d.get("weights"), dict):
            d["weights"] = {**DEFAULT_WEIGHTS, **{str(k).upper(): v for k, v in d["weights"].items()}}
        levels = d.get("quality_levels")
        if isinstance(levels, dict):  # a level's given keys override that level's defaults
            d["quality_levels"] = {lvl: {**QUALITY_LEVELS.get(lvl, {}), **table} if isinstance(table, dict) else table
                                   for lvl, table in {**QUALITY_LEVELS, **levels}.items()}
        return build_section(cls, "gate", d)

    def weight(self, code: str, severity: str) -> float:
        """Penalty points of one ``code`` flag raised at ``severity`` (its own weight, else its severity's)."""
        if code in self.weights:
            return float(self.weights[code])
        return float(self.weights.get(severity, DEFAULT_WEIGHTS[severity]))

    def policy(self, name: str | None = None) -> Policy:
        """The policy called ``name`` (default: ``default_policy``): a custom one of ``policies`` or a built-in.

        Raises:
            ConfigError: no such policy.
        """
        name = self.default_policy if name is None else name
        if name in self.policies:
            return policy_from_dict(self.policies[name], name=name)
        if name in BUILTIN_POLICIES:
            return builtin_policy(name)
        raise ConfigError(f"Unknown gating policy {name!r}; known: {sorted(BUILTIN_POLICIES) + sorted(self.policies)}.")

    def check(self) -> None:
        """Raise ConfigError when a value is out of range."""
        for name in ("silence_window_days", "recent_export_days", "thin_data_days", "stale_data_days",
                     "default_repurchase_days", "price_window_days"):
            _whole(name, getattr(self, name), low=0 if name != "price_window_days" else 1)
        for name in ("basket_price_ratio",):
            value = getattr(self, name)
            if not _number(value) or value <= 0:
                raise ConfigError(f"[gate] {name} must be a number above 0, not {value!r}.")
        for name in ("low_score", "margin_floor"):
            value = getattr(self, name)
            if not _number(value) or not 0 <= value <= 1:
                raise ConfigError(f"[gate] {name} must be between 0 and 1, not {value!r}.")
        _whole("high_audit_score", self.high_audit_score, low=0, high=100)
        self._check_weights()
        self._check_levels()
        if not isinstance(self.default_policy, str) or not self.default_policy:
            raise ConfigError(f"[gate] default_policy must be a policy name, not {self.default_policy!r}.")
        if not isinstance(self.policies, dict):
            raise ConfigError("[gate] policies must be a table of policy tables, e.g. [gate.policies.careful].")
        for name, table in self.policies.items():
            policy_from_dict(table, name=name)
        if self.default_policy not in self.policies and self.default_policy not in BUILTIN_POLICIES:
            raise ConfigError(f"[gate] default_policy {self.default_policy!r} is neither a built-in policy "
                              f"{sorted(BUILTIN_POLICIES)} nor one of [gate.policies] {sorted(self.policies)}.")

    def _check_weights(self) -> None:
        if not isinstance(self.weights, dict):
            raise ConfigError('[gate] weights must be a table, e.g. {WARN = 15, LOW_SCORE = 5}.')
        for key, value in self.weights.items():
            if key not in SEVERITIES and key not in FLAGS:
                raise ConfigError(f"[gate] weights: unknown key {key!r}; use a severity {list(SEVERITIES)} "
                                  f"or a flag code {sorted(FLAGS)}.")
            if not _number(value) or not 0 <= value <= 100:
                raise ConfigError(f"[gate] weights.{key} must be a number of points from 0 to 100, not {value!r}.")

    def _check_levels(self) -> None:
        levels = self.quality_levels
        if not isinstance(levels, dict) or set(levels) != set(LEVELS):
            extra = sorted(set(levels) - set(LEVELS)) if isinstance(levels, dict) else levels
            raise ConfigError(f"[gate] quality_levels: unknown level(s) {extra}; levels are {list(LEVELS)}.")
        for level in LEVELS:
            table = levels[level]
            if not isinstance(table, dict):
                raise ConfigError(f"[gate] quality_levels.{level} must be a table of {list(QUALITY_KEYS)}.")
            if set(table) != set(QUALITY_KEYS):
                wrong = sorted(set(table) ^ set(QUALITY_KEYS))
                raise ConfigError(f"[gate] quality_levels.{level}: unknown or missing key(s) {wrong}; "
                                  f"keys are {list(QUALITY_KEYS)}.")
            for key, value in table.items():
                if not _number(value) or not 0 <= value <= 1:
                    raise ConfigError(f"[gate] quality_levels.{level}.{key} must be a share between 0 and 1, "
                                      f"not {value!r}.")
        for better, worse in zip(LEVELS, LEVELS[1:]):
            b, w = levels[better], levels[worse]
            if (b["min_coverage"] < w["min_coverage"] or b["min_high_score_share"] < w["min_high_score_share"]
                    or b["max_error_rate"] > w["max_error_rate"]):
                raise ConfigError(f"[gate] quality_levels.{better} must be at least as demanding as {worse} "
                                  "(higher minimums, lower max_error_rate).")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _whole(name: str, value: Any, *, low: int, high: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ConfigError(f"[gate] {name} must be a whole number {bounds}, not {value!r}.")
