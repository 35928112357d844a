"""Saved settings and applied proposals: admins only, a new version each time, never silent, never stale."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_core.config import Config
from crm_core.errors import ConfigError, ConflictError, PermissionDenied, ValidationError
from crm_core.outcomes.learning import Proposal, SettingChange
from crm_core.outcomes.service import PROPOSAL_APPLIED, apply_proposal
from crm_core.services.settings_store import (active_settings, active_settings_version, save_settings,
                                              settings_history)
from crm_core.store.models import AuditEvent, ConfigVersion


def _proposal(base_version=None, before=180, after=150) -> Proposal:
    return Proposal(code="threshold:WINBACK", title="Give WINBACK to more customers",
                    changes=(SettingChange("recommend", "winback_inactive_days", before, after),),
                    evidence=("WINBACK: treated customers converted at 80.0% against 60.0% in the holdout.",),
                    base_version=base_version)


def _events(db, action: str) -> list:
    with db.read() as s:
        return s.execute(select(AuditEvent.actor, AuditEvent.actor_role, AuditEvent.entity, AuditEvent.entity_id,
                                AuditEvent.before_json, AuditEvent.after_json)
                         .where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def test_without_a_saved_version_the_defaults_are_active(db):
    assert active_settings(db) == (Config(), None)
    assert active_settings_version(db) is None and settings_history(db).empty


def test_an_admin_applies_a_proposal_as_the_next_version_with_its_evidence(db, admin):
    version = apply_proposal(db, admin, _proposal())
    config, active = active_settings(db)
    assert (version, active) == (1, 1)
    assert config.recommend.winback_inactive_days == 150
    assert config.recommend.weight_affinity == Config().recommend.weight_affinity  # nothing else moved
    saved = active_settings_version(db)
    assert saved.body == {"recommend": config.to_dict()["recommend"]}  # only the section that differs
    assert saved.created_by == "ada" and "treated customers converted at 80.0%" in saved.note
    (event,) = _events(db, PROPOSAL_APPLIED)
    assert (event.actor, event.actor_role, event.entity, event.entity_id) == ("ada", "admin", "settings", "pipeline")
    assert event.before_json == {"version": None, "recommend.winback_inactive_days": 180}
    assert event.after_json["recommend.winback_inactive_days"] == 150 and event.after_json["version"] == 1
    assert event.after_json["proposal"] == "threshold:WINBACK" and event.after_json["evidence"]


@pytest.mark.parametrize("who", ["viewer", "analyst", "manager"])
def test_only_an_admin_may_apply_or_save(db, who, request):
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        apply_proposal(db, actor, _proposal())
    with pytest.raises(PermissionDenied):
        save_settings(db, actor, {"recommend": {"top_n": 5}}, note="more offers")
    with db.read() as s:
        assert s.scalar(select(ConfigVersion.id)) is None


def test_a_proposal_made_before_another_version_was_saved_is_refused(db, admin):
    save_settings(db, admin, {"recommend": {"top_n": 4}}, note="four offers each")
    with pytest.raises(ConflictError, match="version 1 now, not None"):
        apply_proposal(db, admin, _proposal(base_version=None))
    assert active_settings(db)[0].recommend.winback_inactive_days == 180


def test_a_proposal_whose_before_value_no_longer_holds_is_refused(db, admin):
    save_settings(db, admin, {"recommend": {"winback_inactive_days": 200}}, note="slower winback")
    with pytest.raises(ConflictError, match="is 200 now, not 180"):
        apply_proposal(db, admin, _proposal(base_version=1))
    assert active_settings(db)[1] == 1


def test_each_save_is_a_new_version_and_the_history_keeps_them(db, admin):
    first = save_settings(db, admin, {"recommend": {"top_n": 4}}, note="four offers each")
    second = save_settings(db, admin, {"recommend": {"top_n": 5}, "gate": Config().to_dict()["gate"]}, note="five")
    assert (first, second) == (1, 2)
    history = settings_history(db)
    assert history["version"].tolist() == [2, 1] and history["note"].tolist() == ["five", "four offers each"]
    assert history["sections"].tolist() == ["recommend", "recommend"]  # an unchanged section is not stored
    assert active_settings(db)[0].recommend.top_n == 5
    assert [e.after_json["version"] for e in _events(db, "settings.saved")] == [1, 2]


def test_a_save_based_on_an_old_version_is_refused(db, admin):
    save_settings(db, admin, {"recommend": {"top_n": 4}}, note="four")
    with pytest.raises(ConflictError):
        save_settings(db, admin, {"recommend": {"top_n": 6}}, note="six", based_on=None)


@pytest.mark.parametrize("body, note, error, message", [
    ({"recommend": {"top_n": 5}}, "  ", ValidationError, "Say why"),
    ({"recommend": {"top_n": 3}}, "same as now", ValidationError, "nothing to save"),
    ({"recommend": {"top_m": 5}}, "typo", ConfigError, "top_m"),
    ({"recommend": {"weight_affinity": -1}}, "negative", ConfigError, "weight_affinity"),
])
def test_bad_saves_say_what_is_wrong_and_save_nothing(db, admin, body, note, error, message):
    with pytest.raises(error, match=message):
        save_settings(db, admin, body, note=note)
    assert active_settings(db) == (Config(), None)


def test_a_version_that_no_longer_reads_is_named(db, admin):
    with db.unit_of_work() as s:
        s.add(ConfigVersion(kind="settings", name="pipeline", version=1, body_json={"recommend": {"gone": 1}},
                            created_by="ada"))
    with pytest.raises(ConfigError, match="Saved settings version 1"):
        active_settings(db)
    assert save_settings(db, admin, {"recommend": {"top_n": 4}}, note="fixed") == 2  # an admin can repair it
    assert active_settings(db)[1] == 2
