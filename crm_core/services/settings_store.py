"""Saved pipeline settings: every save is a new version, the newest is the active one.

The app and ``python -m crm_core run`` run with :func:`active_settings` (the newest saved
version, else the built-in defaults), and a run records the version it used
(``PipelineRun.settings_version``). A version stores the sections of ``Config.to_dict()``
that differ from the defaults (whole sections), so a setting nobody changed follows the
code's default. Saving needs the admin's right to manage policies, says why (``note``),
and records an audit event with every changed setting, before and after: settings never
change silently.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm_core.auth import Action, Actor, require
from crm_core.config import Config
from crm_core.errors import ConfigError, ConflictError, ValidationError
from crm_core.free_text import checked_text
from crm_core.store.audit_log import record_event
from crm_core.store.models import ConfigVersion

SETTINGS_KIND, SETTINGS_NAME = "settings", "pipeline"
ANY_VERSION = object()  # save_settings(based_on=...) default: do not check what the save is based on
MAX_NOTE_CHARS = 4_000


@dataclass(frozen=True)
class SettingsVersion:
    """One saved version of the pipeline settings."""

    version: int
    body: dict
    note: str | None
    created_by: str
    created_at: dt.datetime | None


def active_settings(db) -> tuple[Config, int | None]:
    """The settings runs use now: ``(Config, version)``; the defaults and None when none was saved.

    Raises:
        ConfigError: the newest version no longer reads as settings (naming the version and the key).
    """
    saved = active_settings_version(db)
    if saved is None:
        return Config(), None
    try:
        return Config.from_dict(saved.body), saved.version
    except ConfigError as exc:
        raise ConfigError(f"Saved settings version {saved.version}: {exc} An admin saves corrected settings "
                          "as a new version.") from None


def active_settings_version(db) -> SettingsVersion | None:
    """The newest saved version (None when the defaults are in use)."""
    with db.read() as s:
        row = s.scalar(select(ConfigVersion).where(ConfigVersion.kind == SETTINGS_KIND,
                                                   ConfigVersion.name == SETTINGS_NAME)
                       .order_by(ConfigVersion.version.desc()).limit(1))
        return None if row is None else SettingsVersion(row.version, dict(row.body_json or {}), row.note,
                                                        row.created_by, row.created_at)


def settings_history(db) -> pd.DataFrame:
    """Every saved version, newest first: ``version, created_by, created_at, note, sections`` (changed sections)."""
    with db.read() as s:
        rows = s.execute(select(ConfigVersion.version, ConfigVersion.created_by, ConfigVersion.created_at,
                                ConfigVersion.note, ConfigVersion.body_json)
                         .where(ConfigVersion.kind == SETTINGS_KIND, ConfigVersion.name == SETTINGS_NAME)
                         .order_by(ConfigVersion.version.desc())).all()
    return pd.DataFrame({"version": pd.array([r[0] for r in rows], dtype="int64"),
                         "created_by": pd.array([r[1] for r in rows], dtype="string"),
                         "created_at": pd.to_datetime(pd.Series([r[2] for r in rows], dtype=object), utc=True),
                         "note": pd.array([r[3] for r in rows], dtype="string"),
                         "sections": pd.array([", ".join(sorted(r[4] or {})) for r in rows], dtype="string")})


def save_settings(db, actor: Actor, config_dict: dict, *, note: str, based_on=ANY_VERSION,
                  action: str = "settings.saved", details: dict | None = None) -> int:
    """Save ``config_dict`` as the next version of the pipeline settings; returns the new version.

    Args:
        db: the Database.
        actor: who saves (needs Action.MANAGE_POLICIES: admin).
        config_dict: settings as ``Config.to_dict()`` gives them (whole, or only some sections).
        note: why (shown with the version and kept in the audit event).
        based_on: the version the change was made from (None: the defaults); when given and another
            version was saved since, nothing is saved.
        action: the audit event's action (``settings.saved``, or the caller's, e.g. applying a proposal).
        details: more facts for the audit event (e.g. the evidence of a proposal).
    Raises:
        PermissionDenied; ConfigError (settings that do not read, naming the key); ValidationError
        (no note, or nothing changed); ConflictError (someone saved another version first).
    """
    require(actor, Action.MANAGE_POLICIES)
    text = checked_text(note, label="A note", max_chars=MAX_NOTE_CHARS,
                        missing="Say why the settings change (the note is kept with the version and in the audit "
                                "log).")
    config = Config.from_dict(config_dict or {})
    body = settings_body(config)
    try:
        with db.unit_of_work() as s:
            current = s.scalar(select(ConfigVersion).where(ConfigVersion.kind == SETTINGS_KIND,
                                                           ConfigVersion.name == SETTINGS_NAME)
                               .order_by(ConfigVersion.version.desc()).limit(1).with_for_update())
            current_version = None if current is None else current.version
            if based_on is not ANY_VERSION and based_on != current_version:
                raise ConflictError(f"The settings changed while this was prepared: version {current_version} "
                                    f"was saved by {current.created_by if current else 'nobody'}. Look at the "
                                    "active settings again and redo the change.")
            before = _readable(current)
            changes = changed_settings(before, config)
            if not changes:
                raise ValidationError("These settings are the ones in use already: nothing to save.")
            version = (s.scalar(select(func.max(ConfigVersion.version)).where(
                ConfigVersion.kind == SETTINGS_KIND, ConfigVersion.name == SETTINGS_NAME)) or 0) + 1
            s.add(ConfigVersion(kind=SETTINGS_KIND, name=SETTINGS_NAME, version=version, body_json=body, note=text,
                                created_by=actor.username))
            s.flush()
            record_event(s, actor=actor, action=action, entity="settings", entity_id=SETTINGS_NAME,
                         before={"version": current_version, **{k: old for k, (old, _) in changes.items()}},
                         after={"version": version, **{k: new for k, (_, new) in changes.items()},
                                **(details or {})},
                         reason=text)
            return version
    except IntegrityError:
        raise ConflictError("Someone saved the settings at the same moment; look at the active settings and "
                            "save again.") from None


def settings_body(config: Config) -> dict:
    """What a version stores: the sections of ``config.to_dict()`` that differ from the defaults."""
    mine, defaults = config.to_dict(), Config().to_dict()
    return {name: section for name, section in mine.items() if section != defaults.get(name)}


def changed_settings(before: Config, after: Config) -> dict[str, tuple]:
    """``{"recommend.weight_affinity": (0.4, 0.45), ...}``: every setting whose value differs."""
    old, new = _flat(before.to_dict()), _flat(after.to_dict())
    return {key: (old.get(key), new.get(key)) for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)}


def _readable(saved: ConfigVersion | None) -> Config:
    """A saved version as settings; one that no longer reads (the code changed) counts as the defaults."""
    try:
        return Config() if saved is None else Config.from_dict(saved.body_json or {})
    except ConfigError:
        return Config()


def _flat(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, name + "."))
        else:
            out[name] = value
    return out
