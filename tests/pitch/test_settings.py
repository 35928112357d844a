"""PitchConfig: the stated defaults, and values that are refused with a message."""

import pytest

from crm_core.errors import ConfigError
from crm_core.pitch import PitchConfig


def test_the_defaults_are_the_ones_the_issue_states():
    c = PitchConfig()
    assert (c.model, c.timeout_seconds, c.max_retries, c.deadline_seconds, c.concurrency) == (
        "claude-sonnet-5-5", 15.0, 1, 20.0, 5)
    assert c.include_first_name is False and c.name_max_chars == 40 and c.enabled is True
    assert (c.price_per_mtok_input, c.price_per_mtok_output) == (2.0, 10.0)


def test_from_dict_reads_the_pitch_section():
    c = PitchConfig.from_dict({"model": "claude-haiku-4-5", "concurrency": 2, "effort": ""})
    assert (c.model, c.concurrency, c.effort) == ("claude-haiku-4-5", 2, "")
    assert PitchConfig.from_dict(None) == PitchConfig()


@pytest.mark.parametrize("values, word", [
    ({"api_key": "sk-x"}, "Unknown [pitch] setting"),  # the key never lives in config
    ({"concurrency": 0}, "concurrency"),
    ({"concurrency": 100}, "concurrency"),
    ({"deadline_seconds": 0}, "deadline_seconds"),
    ({"timeout_seconds": "15"}, "timeout_seconds"),
    ({"max_retries": -1}, "max_retries"),
    ({"model": " "}, "model"),
    ({"effort": "extreme"}, "effort"),
    ({"include_first_name": "yes"}, "include_first_name"),
    ({"expected_output_tokens": 5000}, "expected_output_tokens"),
])
def test_bad_values_are_refused_naming_the_setting(values, word):
    with pytest.raises(ConfigError) as err:
        PitchConfig.from_dict(values)
    assert word in str(err.value)
    assert "sk-x" not in str(err.value)
