"""The settings as a TOML file: what is written reads back to the same settings; every field is described."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.config import Config, OperationsConfig, load_config
from crm_core.config_toml import (field_errors, field_help, nested, parse_value, read_toml, settings_sections,
                                  to_toml, toml_value)
from crm_core.errors import ConfigError
from crm_core.recommend.settings import RecommendConfig

CHANGED = {"recommend": {"top_n": 5, "weight_affinity": 0.55, "extra_non_merchandise": ["GIFTWRAP"]},
           "segment": {"cluster": {"k": 4, "method": "gmm"}, "value": {"churn_bands": [0.2, 0.7]},
                       "rfm": {"recency": "percentile"}},
           "gate": {"weights": {"WARN": 20, "LOW_SCORE": 5}, "silence_window_days": 7,
                    "policies": {"careful": {"review_below": 70, "block_below": 20, "review_on": ["LOW_SCORE"]}},
                    "default_policy": "careful"},
           "ingest": {"cancel_invoice_pattern": "^(C|X)\\d+$"}, "pitch": {"model": "claude-x", "enabled": False},
           "operations": {"backup_keep": 3, "backup_folder": "/srv/backups/crm"}}


@pytest.mark.parametrize("config", [Config(), Config.from_dict(CHANGED)], ids=["defaults", "changed"])
def test_the_written_file_reads_back_to_the_same_settings(config, tmp_path):
    written = to_toml(config, title="NextBest settings\nversion 3")
    assert Config.from_dict(tomllib.loads(written)) == config
    path = tmp_path / "settings.toml"
    path.write_text(written, encoding="utf-8")
    assert load_config(path) == config  # what python -m crm_core run --config reads
    assert written.startswith("# NextBest settings\n# version 3\n")


def test_an_unset_value_is_written_as_a_comment_and_reads_back_as_unset():
    written = to_toml(Config())
    assert "# k is not set\n" in written
    assert "k" not in tomllib.loads(written)["segment"]["cluster"]


def test_every_table_is_written_with_its_meaning_and_default():
    written = to_toml(Config.from_dict(CHANGED))
    tables = [line for line in written.splitlines() if line.startswith("[")]
    assert tables == ["[ingest]", "[segment.rfm]", "[segment.cluster]", "[segment.value]", "[recommend]", "[gate]",
                      "[pitch]", "[pipeline]", "[operations]"]
    assert "# offers per customer. (default: 3)\ntop_n = 5\n" in written
    assert "# where backups are written" in written and 'backup_folder = "/srv/backups/crm"' in written


@given(st.text(max_size=40))
@settings(max_examples=200, deadline=None)
def test_any_string_survives_the_round_trip(text):
    assert tomllib.loads(f"v = {toml_value(text)}")["v"] == text


@pytest.mark.parametrize("value", [0.1, 1e-05, 2.5e20, -0.0, float("inf"), 3, True, [1, [2.5, "x"]], {"a b": {"c": 1}},
                                   ("A", "B"), {}])
def test_values_are_written_as_toml_reads_them(value):
    expected = list(value) if isinstance(value, tuple) else value
    assert tomllib.loads(f"v = {toml_value(value)}")["v"] == expected


def test_a_value_toml_cannot_hold_is_refused():
    with pytest.raises(TypeError, match="no TOML form"):
        toml_value(None)


def test_each_field_gets_its_meaning_from_the_attributes_of_its_section():
    help_ = field_help(RecommendConfig)
    assert help_["top_n"] == "offers per customer."
    assert help_["weight_profit"] == help_["weight_affinity"]  # "weight_affinity, weight_popularity, ...: weights"
    assert help_["weight_profit"].startswith("weights of the four score components")
    assert help_["upsell_price_ratio"] == ("an UPSELL product costs at least this times what the customer usually "
                                           "pays in its family.")
    assert field_help(OperationsConfig)["backup_keep"].startswith("how many daily automatic backups are kept")


def test_the_sections_list_every_setting_with_its_default_and_current_value():
    sections = {s.name: s for s in settings_sections(Config.from_dict(CHANGED))}
    assert list(sections) == ["ingest", "segment.rfm", "segment.cluster", "segment.value", "recommend", "gate",
                              "pitch", "pipeline", "operations"]
    fields = {f.key: f for s in sections.values() for f in s.fields}
    top_n = fields["recommend.top_n"]
    assert (top_n.value, top_n.default, top_n.kind, top_n.changed) == (5, 3, "int", True)
    k = fields["segment.cluster.k"]
    assert (k.value, k.default, k.kind, k.optional) == (4, None, "int", True)
    assert fields["gate.weights"].kind == "value" and fields["pitch.enabled"].kind == "bool"
    assert fields["recommend.weight_profit"].kind == "float" and not fields["recommend.weight_profit"].changed
    counted = sum(len(dataclasses.fields(type(getattr(Config().segment, p)))) for p in ("rfm", "cluster", "value"))
    assert len([f for f in fields if f.startswith("segment.")]) == counted


def test_an_error_lands_on_the_field_that_caused_it():
    config = Config()
    values = {"recommend.top_n": 0, "recommend.seed": 7, "segment.value.churn_bands": [0.5, 0.4]}
    errors = field_errors(config, values)
    assert set(errors) == {"recommend.top_n", "segment.value.churn_bands"}
    assert errors["recommend.top_n"] == "[recommend] top_n must be a whole number >= 1, not 0."
    assert field_errors(config, {"recommend.top_n": 3}) == {}  # unchanged values are not errors


def test_a_rule_across_fields_lands_on_their_section():
    errors = field_errors(Config(), {"segment.cluster.k_min": 6, "segment.cluster.k_max": 4})
    assert errors == {"segment.cluster": "segment.cluster: need 2 <= k_min <= k_max, got 6..4"}


def test_form_values_become_the_settings_they_describe():
    values = {"recommend.top_n": 4, "segment.cluster.k": None, "gate.weights": parse_value("{WARN = 25}", "w")}
    config = Config.from_dict(nested(values))
    assert (config.recommend.top_n, config.segment.cluster.k, config.gate.weight("LOW_SCORE", "WARN")) == (4, None, 25)


def test_text_that_is_not_toml_is_refused_with_its_line():
    with pytest.raises(ConfigError, match="settings.toml is not valid TOML: .*line 2"):
        read_toml("[recommend]\ntop_n = = 3\n", source="settings.toml")
    with pytest.raises(ConfigError, match="gate.weights is not a TOML value"):
        parse_value("{WARN: 15}", "gate.weights")


def test_a_settings_or_policy_file_that_is_missing_or_not_toml_is_named_in_the_error(tmp_path):
    from crm_core.workflow.policies import policy_from_file

    with pytest.raises(ConfigError, match=r"Config file .*nope\.toml does not exist"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"Policy file .*nope\.toml does not exist"):
        policy_from_file(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[gate\nmin_score = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"Config file .*broken\.toml is not valid TOML.*line 1"):
        load_config(broken)
    with pytest.raises(ConfigError, match=r"Policy file .*broken\.toml is not valid TOML"):
        policy_from_file(broken)
    with pytest.raises(ConfigError, match=r"Config file .* cannot be read"):
        load_config(tmp_path)  # a folder, not a file
