"""Settings of the next-best-offer engine: weights, scenario thresholds, model knobs."""

from __future__ import annotations

from dataclasses import dataclass

from crm_core.errors import ConfigError
from crm_core.settings_base import build_section

SCENARIOS = ("REBUY", "CROSS_SELL", "UPSELL", "WINBACK", "NURTURE")
COMPONENTS = ("affinity", "popularity", "profit", "scenario_fit")


@dataclass(frozen=True)
class RecommendConfig:
    """How offers are chosen, scored and explained.

    Attributes:
        weight_affinity, weight_popularity, weight_profit, weight_scenario_fit:
            weights of the four score components (renormalised over the
            components that have data).
        top_n: offers per customer.
        popularity_window_days: popularity counts distinct invoices in the
            days up to the as-of date.
        recent_exclusion_days: a product bought this recently is not offered
            again unless it is a REBUY (replenishable) candidate.
        replenish_min_repeat_rate: share of a product's buyers who bought it
            again for it to count as replenishable (the customer's own repeat
            purchase also makes it replenishable for them).
        due_factor: a product is due when the days since its last purchase
            reach ``due_factor`` times the usual interval.
        nurture_max_frequency: customers with at most this many invoices are NURTURE.
        new_customer_days: customers whose first purchase is this recent are NURTURE.
        winback_inactive_days: customers inactive this long are WINBACK when valuable.
        winback_value_quantile: "valuable" = net spend at or above this quantile.
        upsell_value_quantile: "high spender" = net spend at or above this quantile.
        upsell_price_ratio: an UPSELL product costs at least this times what the
            customer usually pays in its family.
        fill_fit: scenario fit of a candidate that does not belong to the
            customer's primary scenario (a fill from the next-best scenario).
        horizon_days: the purchase model predicts purchases within this many
            days (it learns from the data one horizon before the as-of date).
        candidates_per_customer: new products per customer taken from the
            item-item model before scoring.
        model_regularisation: L2 penalty (lambda) of the item-item model (EASE).
        max_model_products: only the most bought products enter the item-item model.
        training_max_customers: customers sampled to fit the purchase model.
        seed: seed of that sample.
        threads: blocks of customers scored at once (the result does not
            depend on it; 1 = no worker threads).
        extra_non_merchandise: product codes never offered, on top of the
            ``is_merchandise`` flags of transactions and catalog.
        calibrate: before scoring, choose the blend (weights, scenario thresholds)
            by a backtest on the shop's own last window (crm_core.recommend.calibration);
            False scores with the settings as configured.
        calibration_budget_share: the calibration may take this share of the offers
            stage (estimated as twice its measured preparation; at least 1 s).
        calibration_max_seconds: hard cap on the calibration, whatever the stage's time.
        calibration_customers: customers sampled for the backtest (seeded by ``seed``).
        calibration_min_customers: fewer customers buying in the window than this:
            the configured blend is kept (too few to tell blends apart).
    """

    weight_affinity: float = 0.4
    weight_popularity: float = 0.3
    weight_profit: float = 0.2
    weight_scenario_fit: float = 0.1
    top_n: int = 3
    popularity_window_days: int = 90
    recent_exclusion_days: int = 30
    replenish_min_repeat_rate: float = 0.05
    due_factor: float = 1.0
    nurture_max_frequency: int = 1
    new_customer_days: int = 30
    winback_inactive_days: int = 180
    winback_value_quantile: float = 0.5
    upsell_value_quantile: float = 0.8
    upsell_price_ratio: float = 1.2
    fill_fit: float = 0.5
    horizon_days: int = 90
    candidates_per_customer: int = 15
    model_regularisation: float = 500.0
    max_model_products: int = 2000
    training_max_customers: int = 10_000
    seed: int = 20240501
    threads: int = 2
    extra_non_merchandise: tuple[str, ...] = ()
    calibrate: bool = True
    calibration_budget_share: float = 0.2
    calibration_max_seconds: float = 30.0
    calibration_customers: int = 5_000
    calibration_min_customers: int = 200

    @property
    def weights(self) -> dict[str, float]:
        """Component name -> weight, in COMPONENTS order."""
        return {name: float(getattr(self, f"weight_{name}")) for name in COMPONENTS}

    @classmethod
    def from_dict(cls, d: dict) -> "RecommendConfig":
        """Build from the ``[recommend]`` section; unknown keys or bad values raise ConfigError."""
        return build_section(cls, "recommend", d, code_lists=("extra_non_merchandise",))

    def check(self) -> None:
        """Raise ConfigError when a value is out of range."""
        for name, weight in self.weights.items():
            if not isinstance(weight, (int, float)) or weight < 0:
                raise ConfigError(f"[recommend] weight_{name} must be a number >= 0, not {weight!r}.")
        if sum(self.weights.values()) <= 0:
            raise ConfigError("[recommend] at least one weight must be above 0 (defaults 0.4 / 0.3 / 0.2 / 0.1).")
        for name in ("top_n", "popularity_window_days", "horizon_days", "candidates_per_customer", "max_model_products",
                     "training_max_customers", "nurture_max_frequency", "threads", "calibration_customers",
                     "calibration_min_customers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"[recommend] {name} must be a whole number >= 1, not {value!r}.")
        for name in ("recent_exclusion_days", "new_customer_days", "winback_inactive_days"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"[recommend] {name} must be a whole number of days >= 0, not {value!r}.")
        for name in ("replenish_min_repeat_rate", "winback_value_quantile", "upsell_value_quantile", "fill_fit"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ConfigError(f"[recommend] {name} must be between 0 and 1, not {value!r}.")
        if not isinstance(self.calibrate, bool):
            raise ConfigError(f"[recommend] calibrate must be true or false, not {self.calibrate!r}.")
        share = self.calibration_budget_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise ConfigError(f"[recommend] calibration_budget_share must be above 0 and at most 1 (0.2 = a fifth "
                              f"of the offers stage), not {share!r}.")
        for name in ("due_factor", "upsell_price_ratio", "model_regularisation", "calibration_max_seconds"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"[recommend] {name} must be a number above 0, not {value!r}.")
