"""AppTest of the Settings page: a form built from the settings, errors beside the field, versions, TOML in and out."""

from __future__ import annotations

import tomllib

import pytest
import streamlit as st

from crm_core.auth import Actor, Role
from crm_core.config import Config
from crm_core.display_text import shown
from crm_core.services.settings_store import active_settings, save_settings, settings_history
from tests.apptest_support import app_test_of

PAGE = "pages/settings.py"
ADA = Actor("admin", Role.ADMIN)


class FakeUpload:
    """What st.file_uploader returns, for a file given as bytes."""

    def __init__(self, data: bytes, name: str):
        self._data, self.name, self.file_id, self.size = data, name, f"id-{name}-{len(data)}", len(data)

    def getvalue(self) -> bytes:
        return self._data


def _page(role: str = "admin"):
    return app_test_of(PAGE, role).run()


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


def _save(at, note: str = "tuning"):
    at.text_input(key="settings_note").input(note)
    return at.button(key="settings_save").click().run()


@pytest.mark.parametrize("role", ["viewer", "analyst", "manager"])
def test_only_an_admin_sees_the_settings(app_db, role):
    at = _page(role)
    assert any("needs the admin role" in e for e in _texts(at.error))
    assert not at.number_input and "settings_save" not in [b.key for b in at.button]


def test_every_setting_is_in_the_form_with_its_meaning_and_default(app_db):
    at = _page()
    assert not at.exception and not at.error
    assert [e.label for e in at.expander] == ["ingest", "segment.rfm", "segment.cluster", "segment.value", "recommend",
                                              "gate", "pitch", "pipeline", "operations"]
    top_n = at.number_input(key="settings_f_recommend__top_n")
    assert (top_n.label, top_n.value) == ("top_n", 3)
    assert top_n.help.startswith("offers per customer.") and "Default: `3`" in top_n.help
    assert at.selectbox(key="settings_f_segment__cluster__method").options == ["kmeans", "gmm", "hierarchical"]
    assert at.number_input(key="settings_f_segment__cluster__k").value is None  # not set: chosen by silhouette
    assert at.checkbox(key="settings_f_recommend__calibrate").value is True
    assert tomllib.loads("v = " + at.text_area(key="settings_f_gate__weights").value)["v"] == \
        {"ERROR": 100, "WARN": 15, "INFO": 2}
    assert "settings_f_gate__policies" not in [t.key for t in at.text_area]  # edited on the Admin page
    assert any("[Admin page](/admin)" in m for m in _texts(at.markdown))
    assert at.caption[0].value == "Runs use the built-in defaults: no version has been saved yet."


def test_a_change_is_saved_as_a_new_version_that_runs_use(app_db):
    at = _page()
    at.number_input(key="settings_f_recommend__top_n").set_value(5)
    at.number_input(key="settings_f_segment__cluster__k").set_value(4)
    at.text_area(key="settings_f_gate__weights").input("{WARN = 20}")
    at = _save(at, "five offers each")
    assert not at.exception and not at.error
    assert _texts(at.success) == ["Saved settings version 1: the next runs use it."]
    config, version = active_settings(app_db.db)
    assert (version, config.recommend.top_n, config.segment.cluster.k, config.gate.weight("X", "WARN")) == (1, 5, 4, 20)
    assert settings_history(app_db.db)["note"].tolist() == ["five offers each"]
    assert at.number_input(key="settings_f_recommend__top_n").value == 5
    assert at.caption[0].value == f"Runs use version 1, saved by admin: {shown('five offers each', 200)}"
    assert at.expander[4].label == "recommend · 1 changed from the defaults"


def test_a_wrong_value_is_shown_under_its_field_and_nothing_is_saved(app_db):
    at = _page()
    at.number_input(key="settings_f_recommend__top_n").set_value(0)
    at.text_area(key="settings_f_segment__value__churn_bands").input("[0.7, 0.2")
    at = _save(at)
    assert not at.exception
    errors = _texts(at.error)
    assert shown("[recommend] top_n must be a whole number >= 1, not 0.", 600) in errors
    assert any(e.startswith(shown("segment.value.churn_bands is not a TOML value", 600)[:40]) for e in errors)
    assert active_settings(app_db.db)[1] is None
    assert at.expander[4].proto.expanded and not at.expander[0].proto.expanded  # its section opens, not others
    assert at.number_input(key="settings_f_recommend__top_n").value == 0  # what was typed stays to be corrected


def test_a_rule_across_settings_is_shown_under_their_section(app_db):
    at = _page()
    at.number_input(key="settings_f_segment__cluster__k_min").set_value(6)
    at.number_input(key="settings_f_segment__cluster__k_max").set_value(4)
    at = _save(at)
    assert shown("segment.cluster: need 2 <= k_min <= k_max, got 6..4", 600) in _texts(at.error)
    assert active_settings(app_db.db)[1] is None


def test_a_save_needs_a_reason_and_a_change(app_db):
    at = _page()
    at = _save(at, "nothing really")
    assert any("nothing to save" in e for e in _texts(at.error))
    at.number_input(key="settings_f_recommend__top_n").set_value(4)
    at = _save(at, "  ")
    assert any("Say why the settings change" in e for e in _texts(at.error))
    assert active_settings(app_db.db)[1] is None


def test_a_version_saved_meanwhile_is_not_overwritten(app_db):
    at = _page()
    save_settings(app_db.db, ADA, {"recommend": {"top_n": 7}}, note="someone else")
    at.number_input(key="settings_f_recommend__top_n").set_value(4)
    at = _save(at, "mine")
    assert any("The settings changed while this was prepared: version 1 was saved by admin" in e
               for e in _texts(at.error))
    assert active_settings(app_db.db)[0].recommend.top_n == 7
    assert any("Another version was saved since this form was loaded" in w for w in _texts(at.warning))
    at.button(key="settings_reload").click().run()
    assert at.number_input(key="settings_f_recommend__top_n").value == 7 and not at.warning


def test_the_export_is_the_active_settings_as_toml(app_db, monkeypatch):
    save_settings(app_db.db, ADA, {"recommend": {"top_n": 4}}, note="four")
    got = {}
    monkeypatch.setattr(st, "download_button", lambda label, data, **kw: got.update(label=label, data=data, **kw))
    _page()
    assert got["file_name"] == "nextbest-settings-v1.toml"
    assert got["data"].startswith("# NextBest settings: version 1, saved by admin\n")
    assert Config.from_dict(tomllib.loads(got["data"])) == active_settings(app_db.db)[0]


def test_an_imported_file_shows_its_differences_and_is_saved_as_a_new_version(app_db, monkeypatch):
    text = "[recommend]\ntop_n = 6\n\n[segment.cluster]\nmethod = \"gmm\"\n"
    monkeypatch.setattr(st, "file_uploader", lambda *a, **k: FakeUpload(text.encode(), "team.toml"))
    at = _page()
    diff = next(d.value for d in at.dataframe if "in the file" in d.value.columns)
    assert diff.values.tolist() == [["recommend.top_n", "3", "6"], ["segment.cluster.method", '"kmeans"', '"gmm"']]
    at.text_input(key="settings_import_note").input("the team's file")
    at.button(key="settings_import_save").click().run()
    assert not at.exception and not at.error
    assert _texts(at.success) == [f"Saved settings version 1 from {shown('team.toml')}."]
    config, _ = active_settings(app_db.db)
    assert (config.recommend.top_n, config.segment.cluster.method) == (6, "gmm")


@pytest.mark.parametrize("text, said", [("[recommend]\ntop_n = = 3\n", "is not valid TOML"),
                                        ("[recommend]\ntopn = 3\n", "Unknown [recommend] setting(s) ['topn']")])
def test_a_file_that_does_not_read_as_settings_is_refused_with_why(app_db, monkeypatch, text, said):
    monkeypatch.setattr(st, "file_uploader", lambda *a, **k: FakeUpload(text.encode(), "bad.toml"))
    at = _page()
    assert any(shown(said, 600)[:30] in e for e in _texts(at.error))
    assert "settings_import_save" not in [b.key for b in at.button]
