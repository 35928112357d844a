"""RecommendConfig: defaults from the issue, from_dict validation."""

import pytest

from crm_core.errors import ConfigError
from crm_core.recommend.settings import RecommendConfig


def test_defaults_match_the_issue():
    c = RecommendConfig()
    assert c.weights == {"affinity": 0.4, "popularity": 0.3, "profit": 0.2, "scenario_fit": 0.1}
    assert c.top_n == 3


def test_from_dict_sets_values_and_normalises_codes():
    c = RecommendConfig.from_dict({"top_n": 5, "weight_profit": 0.0, "extra_non_merchandise": [" gift "]})
    assert (c.top_n, c.weight_profit, c.extra_non_merchandise) == (5, 0.0, ("GIFT",))


@pytest.mark.parametrize("bad, word", [
    ({"top_m": 3}, "Unknown [recommend] setting"),
    ({"top_n": 0}, "top_n"),
    ({"weight_affinity": -1}, "weight_affinity"),
    ({"weight_affinity": 0, "weight_popularity": 0, "weight_profit": 0, "weight_scenario_fit": 0}, "at least one"),
    ({"winback_value_quantile": 1.5}, "winback_value_quantile"),
    ({"extra_non_merchandise": "POST"}, "list of product codes"),
    ({"due_factor": 0}, "due_factor"),
])
def test_from_dict_rejects_bad_values_naming_them(bad, word):
    with pytest.raises(ConfigError, match=word.replace("[", r"\[").replace("]", r"\]")):
        RecommendConfig.from_dict(bad)
