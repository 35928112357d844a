"""Settings (admin): every pipeline setting with its meaning and default, saved as a new version; TOML export/import.

The form is built from the settings dataclasses (``crm_core.config_toml.settings_sections``):
one expander per table, one widget per setting, the meaning and default in its help.
A save checks every field first (``field_errors``: the error shows under the field that
caused it, or under its section for a rule across fields) and saves a new version
(``save_settings``, never an edit); the version the form was loaded from is kept, so
a version someone else saved meanwhile is not overwritten. Widget keys: ``settings_f_``
and the setting's dotted name with ``__`` for dots.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.shell import guard_page, show_error, shown
from crm_core.config import Config
from crm_core.config_toml import (SettingField, field_errors, nested, parse_value, read_toml, settings_sections,
                                  to_toml, toml_value)
from crm_core.errors import ConfigError, NextBestError
from crm_core.gate.settings import BUILTIN_POLICIES
from crm_core.pitch.settings import EFFORTS
from crm_core.segment.settings import CLUSTER_METHODS, RECENCY_RULES, TIME_UNITS
from crm_core.services.settings_store import active_settings_version, changed_settings, save_settings, settings_history

PREFIX = "settings_f_"
BASE = "settings_base_version"  # the version the form's values were loaded from
ERRORS = "settings_errors"
DONE = "settings_done"
NOT_IN_FORM = ("gate.policies",)  # custom policies are edited on the Admin page


def _key(field: SettingField) -> str:
    return PREFIX + field.key.replace(".", "__")


def _choices(config: Config) -> dict[str, list[str]]:
    """Settings that take one of a few values, with those values."""
    return {"segment.cluster.method": list(CLUSTER_METHODS), "segment.rfm.recency": list(RECENCY_RULES),
            "segment.value.time_unit": list(TIME_UNITS), "pitch.effort": list(EFFORTS),
            "gate.default_policy": sorted(BUILTIN_POLICIES) + sorted(config.gate.policies)}


def _default_text(field: SettingField) -> str:
    if field.default is None:
        return "not set (chosen automatically)"
    text = toml_value(field.default)
    return text if len(text) <= 80 else "see the exported file"


def _reset_form() -> None:
    """Forget the form's values (they are drawn again from the active settings)."""
    for key in [k for k in st.session_state if str(k).startswith(PREFIX)]:
        del st.session_state[key]
    st.session_state.pop(ERRORS, None)
    st.session_state.pop(BASE, None)


def _widget(field: SettingField, choices: dict) -> None:
    """One setting's widget, its help the meaning and the default, and its error (if any) under it."""
    key, label = _key(field), field.name
    help_ = f"{field.help or 'No description in the code.'}\n\nDefault: `{_default_text(field)}`"
    if field.key in choices:
        options = choices[field.key]
        st.selectbox(label, options, index=options.index(field.value) if field.value in options else 0, key=key,
                     help=help_)
    elif field.kind == "bool":
        st.checkbox(label, value=bool(field.value), key=key, help=help_)
    elif field.kind == "int":
        st.number_input(label, value=field.value, step=1, key=key, help=help_,
                        placeholder="not set: chosen automatically" if field.optional else None)
    elif field.kind == "float":
        st.number_input(label, value=float(field.value), step=0.05, format="%g", key=key, help=help_)
    elif field.kind == "text":
        st.text_input(label, value=field.value, key=key, help=help_)
    else:
        text = toml_value(field.value, multiline=True)
        st.text_area(label, value=text, key=key, help=help_ + "\n\nWritten as in the settings file (TOML).",
                     height=min(68 + 22 * text.count("\n"), 320))
    error = st.session_state.get(ERRORS, {}).get(field.key)
    if error:
        st.error(shown(error, 600))


def _form(ctx) -> None:
    """The settings form; a save checks every field and saves a new version."""
    config = ctx.config
    st.session_state.setdefault(BASE, ctx.settings_version)
    choices, errors = _choices(config), st.session_state.get(ERRORS, {})
    sections = settings_sections(config)
    with st.form("settings_form"):
        for section in sections:
            fields = [f for f in section.fields if f.key not in NOT_IN_FORM]
            changed = sum(f.changed for f in section.fields)
            title = f"{section.name} · {changed} changed from the defaults" if changed else section.name
            wrong = any(k == section.name or k.rsplit(".", 1)[0] == section.name for k in errors)
            with st.expander(title, expanded=wrong):
                st.caption(section.description)
                for field in fields:
                    _widget(field, choices)
                if len(fields) < len(section.fields):
                    st.markdown("Custom gating policies are edited on the [Admin page](/admin), where each save "
                                "is a new version and changing a workspace's policy re-gates its open offers.")
                if errors.get(section.name):
                    st.error(shown(errors[section.name], 600))
        if errors.get(""):
            st.error(shown(errors[""], 600))
        st.text_input("Why (kept with the version and in the audit log)", key="settings_note")
        saved = st.form_submit_button("Save as a new version", key="settings_save", type="primary")
    if saved:
        _save(ctx, [f for s in sections for f in s.fields])


def _save(ctx, fields: list[SettingField]) -> None:
    """Check the form's values field by field, then save them as the next version."""
    values, errors = {}, {}
    for field in fields:
        raw = st.session_state.get(_key(field), field.value) if field.key not in NOT_IN_FORM else field.value
        if field.kind == "value" and isinstance(raw, str):
            try:
                raw = parse_value(raw, field.key)
            except ConfigError as exc:
                errors[field.key], raw = str(exc), field.value  # the others are checked against what is saved
        values[field.key] = raw
    errors.update(field_errors(ctx.config, values))
    st.session_state[ERRORS] = errors
    if errors:
        st.rerun()
    try:
        version = save_settings(ctx.db, ctx.actor, Config.from_dict(nested(values)).to_dict(),
                                note=st.session_state.get("settings_note", ""), based_on=st.session_state.get(BASE))
    except NextBestError as exc:
        show_error(exc)
        return
    _reset_form()
    st.session_state.pop("settings_note", None)
    st.session_state[DONE] = f"Saved settings version {version}: the next runs use it."
    st.rerun()


def _export(ctx) -> None:
    """The active settings as a TOML file, for the record or for ``python -m crm_core run --config``."""
    saved = active_settings_version(ctx.db)
    title = ("NextBest settings: the built-in defaults" if saved is None else
             f"NextBest settings: version {saved.version}, saved by {saved.created_by}")
    title += "\nUse with: python -m crm_core run --config THIS_FILE, or import it on the Settings page."
    st.download_button("Download the active settings (TOML)", to_toml(ctx.config, title=title),
                       file_name=f"nextbest-settings-v{ctx.settings_version or 0}.toml", mime="application/toml",
                       key="settings_export", icon=":material/download:")


def _import(ctx) -> None:
    """Upload a TOML file, see what it would change, save it as a new version."""
    uploaded = st.file_uploader("A settings file (TOML)", type=["toml"], key="settings_import_file")
    if uploaded is None:
        return
    try:
        text = uploaded.getvalue().decode("utf-8")
    except UnicodeDecodeError:
        st.error(f"{shown(uploaded.name)} is not UTF-8 text; save it as UTF-8 and upload it again.")
        return
    try:
        config = Config.from_dict(read_toml(text, source=uploaded.name))
    except ConfigError as exc:
        st.error(shown(str(exc), 600))
        return
    changes = changed_settings(ctx.config, config)
    if not changes:
        st.info(f"{shown(uploaded.name)} holds the settings in use already: nothing to save.")
        return
    st.markdown(f"**{shown(uploaded.name)}** changes {len(changes)} setting{'s' if len(changes) != 1 else ''}:")
    st.dataframe(pd.DataFrame({"setting": list(changes), "now": [_cell(old) for old, _ in changes.values()],
                               "in the file": [_cell(new) for _, new in changes.values()]}),
                 hide_index=True, key="settings_import_diff")
    note = st.text_input("Why (kept with the version and in the audit log)", key="settings_import_note")
    if st.button("Save the file's settings as a new version", key="settings_import_save"):
        try:
            version = save_settings(ctx.db, ctx.actor, config.to_dict(), note=note, based_on=ctx.settings_version)
        except NextBestError as exc:
            show_error(exc)
            return
        _reset_form()
        st.session_state[DONE] = f"Saved settings version {version} from {shown(uploaded.name)}."
        st.rerun()


def _cell(value) -> str:
    return "not set" if value is None else toml_value(value)


def _history(ctx) -> None:
    history = settings_history(ctx.db)
    if history.empty:
        st.caption("No version saved yet: runs use the built-in defaults.")
        return
    st.dataframe(history, hide_index=True, key="settings_history",
                 column_config={"created_at": st.column_config.DatetimeColumn("saved at (UTC)"),
                                "sections": st.column_config.TextColumn("sections changed from the defaults")})


ctx = guard_page("settings.py", require_workspace=False)
st.title("Settings")
saved_now = active_settings_version(ctx.db)
if saved_now is None:
    st.caption("Runs use the built-in defaults: no version has been saved yet.")
else:
    st.caption(f"Runs use version {saved_now.version}, saved by {shown(saved_now.created_by)}: "
               f"{shown(saved_now.note or '', 200)}")
if st.session_state.get(BASE, ctx.settings_version) != ctx.settings_version:
    st.warning("Another version was saved since this form was loaded: saving the form is refused, so that it does "
               "not undo that version. Load the active settings to start from them.")
    if st.button("Load the active settings (your changes are dropped)", key="settings_reload"):
        _reset_form()
        st.rerun()
done = st.session_state.pop(DONE, None)
if done:
    st.success(done)
edit, files, history_tab = st.tabs(["Edit", "Export and import", "History"])
with edit:
    _form(ctx)
with files:
    st.subheader("Export")
    _export(ctx)
    st.subheader("Import")
    _import(ctx)
with history_tab:
    _history(ctx)
